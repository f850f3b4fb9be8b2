// Command virtsh is a virsh-compatible virtualization shell. main only wires
// the process's streams to cmd.Main and exits with its status: nothing else in
// virtsh ends the process.
package main

import (
	"os"
	"runtime"

	"virtsh/cmd"
)

// minProcs is the fewest Ps virtsh runs with. Its goroutines spend their time
// blocked in libvirt's C calls (each a round trip to the daemon), and a
// goroutine in a C call keeps its P until sysmon takes it back, 20 µs later
// at best. dominfo asks its seven queries at once: on a 2-CPU machine
// (GOMAXPROCS 2) the third waited for a P, and the queries mostly ran one
// after another again. With 8, 500 piped domstate/dominfo took 277 ms instead
// of 312 ms (issue 8). The Ps add no CPU work: CPU-bound Go code is a small
// part of virtsh's time. A GOMAXPROCS in the environment still wins.
const minProcs = 8

func main() {
	if os.Getenv("GOMAXPROCS") == "" && runtime.GOMAXPROCS(0) < minProcs {
		runtime.GOMAXPROCS(minProcs)
	}
	os.Exit(cmd.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
