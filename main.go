// Command virtsh is a virsh-compatible virtualization shell. main only wires
// the process's streams to cmd.Main and exits with its status: nothing else in
// virtsh ends the process.
package main

import (
	"os"
	"runtime"
	"runtime/debug"

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
	// virtsh's live heap is small (about 1 MiB while `list --all` renders
	// 1,000 guests), but Go lets the heap reach 4 MiB before its first
	// collection, so a one-shot command's peak memory is mostly garbage.
	// Collecting at 50% growth halves that floor: peak RSS of `list --all`
	// on 1,000 guests drops by ~1 MiB for ~4 ms of collection that runs on
	// the other core (elapsed time unchanged; README "Benchmarks"). GOGC in
	// the environment still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	if os.Getenv("GOMAXPROCS") == "" && runtime.GOMAXPROCS(0) < minProcs {
		runtime.GOMAXPROCS(minProcs)
	}
	os.Exit(cmd.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
