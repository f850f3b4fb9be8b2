package shell

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// The runner's signals (SIGINT, SIGTERM, SIGHUP) are taken with one os/signal
// registration for the life of the process, not one per command. Each
// signal.Notify/Stop pair enables and disables the signals through the
// runtime's signal thread, a goroutine locked to its own thread, so a pair
// per command would cost every command of a script two
// runtime.startlockedm/stoplockedm hand-offs (futex wake-ups).
//
// While a command runs, its handler gets the signal. Between commands the
// signal does what it did before the relay existed: outside the REPL it ends
// the process the default way (the registration is dropped and the signal
// raised again, so the parent sees death by that signal); in the REPL it is
// left to the REPL's own handler.
var relay struct {
	once    sync.Once
	mu      sync.Mutex
	handler func(os.Signal) // the running command's; nil between commands
	// keep: between commands the signal is someone else's business (REPL).
	keep bool
}

var relaySignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// armSignals installs the relay's signal.Notify registration, once per
// process. It is done lazily, not before every one-shot command: the
// registration starts the runtime's signal-handling thread (ensureSigM, a
// goroutine locked to a thread of its own) and os/signal's loop, which a
// one-shot command that neither waits nor can be interrupted mid-way has no
// use for. It is armed by the REPL at once, and by
// startEventLoop: by every command that waits or may be interrupted (they
// start the event loop before they register for events or start a job), and
// by the runner once a command has run EventLoopDelay. Until then a signal
// does what it does between commands: it ends the process the default way.
func armSignals() {
	relay.once.Do(func() {
		c := make(chan os.Signal, 4)
		signal.Notify(c, relaySignals...)
		go func() {
			for s := range c {
				relay.mu.Lock()
				h, keep := relay.handler, relay.keep
				relay.mu.Unlock()
				switch {
				case h != nil:
					h(s)
				case !keep:
					dieBy(s)
				}
			}
		}()
	})
}

// dieBy ends the process by signal s the default way, so the parent sees
// death by that signal (128+N in a shell).
func dieBy(s os.Signal) {
	signal.Reset(s)
	_ = syscall.Kill(syscall.Getpid(), s.(syscall.Signal))
}

// watchSignals makes h the receiver of the runner's signals until the returned
// function is called. interactive says what a signal between commands does
// (see relay); an interactive session arms the relay at once (see armSignals).
func watchSignals(h func(os.Signal), interactive bool) (release func()) {
	if interactive {
		armSignals()
	}
	relay.mu.Lock()
	relay.handler, relay.keep = h, interactive
	relay.mu.Unlock()
	return func() {
		relay.mu.Lock()
		relay.handler = nil
		relay.mu.Unlock()
	}
}
