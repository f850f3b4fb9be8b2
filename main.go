// Command virtsh is a virsh-compatible virtualization shell. main only wires
// the process's streams to cmd.Main and exits with its status: nothing else in
// virtsh ends the process.
package main

import (
	"os"

	"github.com/virtsh/virtsh/cmd"
)

func main() {
	os.Exit(cmd.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
