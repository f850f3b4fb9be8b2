package shell

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/virtsh/virtsh/format"
)

// testRunner knows "wait", which blocks until its context is cancelled and
// then says why, and "say", which prints its words.
func testRunner(out, errw *bytes.Buffer, started chan<- struct{}) *Runner {
	sess := &Session{IO: &format.IO{Out: out, Err: errw}}
	return &Runner{Sess: sess, Parse: func(words []string) (Invocation, error) {
		switch words[0] {
		case "wait":
			return runFunc(func(ctx context.Context) error {
				// A command that waits starts the event loop first, which
				// arms the signal relay (armSignals), as the real ones do.
				sess.StartEventLoop()
				started <- struct{}{}
				<-ctx.Done()
				// Like a block job abort: the command takes a moment to
				// stop, during which a second Ctrl-C may come.
				time.Sleep(200 * time.Millisecond)
				var se *SignalError
				if errors.As(context.Cause(ctx), &se) {
					return errors.New("aborted by " + se.Signal.String())
				}
				return ctx.Err()
			}), nil
		case "say":
			return runFunc(func(context.Context) error {
				out.WriteString(strings.Join(words[1:], " "))
				return nil
			}), nil
		}
		return nil, errors.New("unknown command: '" + words[0] + "'")
	}}
}

// runFunc is an Invocation that calls itself.
type runFunc func(context.Context) error

func (f runFunc) Run(ctx context.Context) error { return f(ctx) }

// A SIGINT while a command runs cancels that command (its context carries the
// signal), a second one says the abort is under way, and the process and the
// runner live on: the next command string runs normally.
func TestRunOneSignalCancelsOnlyTheCommand(t *testing.T) {
	var out, errw bytes.Buffer
	started := make(chan struct{}, 1)
	r := testRunner(&out, &errw, started)
	go func() {
		<-started
		_ = syscall.Kill(syscall.Getpid(), syscall.SIGINT)
		time.Sleep(50 * time.Millisecond)
		_ = syscall.Kill(syscall.Getpid(), syscall.SIGINT)
	}()
	res := r.RunString(context.Background(), "wait; say not-run")
	if res.Signal != syscall.SIGINT || res.OK || !res.AnyErr {
		t.Errorf("result = %+v, want failed with SIGINT", res)
	}
	if Terminating(res.Signal) {
		t.Errorf("SIGINT must not end the shell")
	}
	wantErr := "error: still aborting, please wait\nerror: aborted by interrupt\n"
	if errw.String() != wantErr {
		t.Errorf("stderr = %q, want %q", errw.String(), wantErr)
	}
	if strings.Contains(out.String(), "not-run") {
		t.Errorf("the rest of the line ran after Ctrl-C: %q", out.String())
	}
	out.Reset()
	if res := r.RunString(context.Background(), "say still-alive"); !res.OK || out.String() != "still-alive\n" {
		t.Errorf("after the signal: %+v %q", res, out.String())
	}
}

func TestRunOneSIGTERMEndsTheString(t *testing.T) {
	var out, errw bytes.Buffer
	started := make(chan struct{}, 1)
	r := testRunner(&out, &errw, started)
	go func() {
		<-started
		_ = syscall.Kill(syscall.Getpid(), syscall.SIGTERM)
	}()
	res := r.RunString(context.Background(), "wait")
	if res.Signal != syscall.SIGTERM || !Terminating(res.Signal) {
		t.Errorf("result = %+v, want SIGTERM", res)
	}
	if errw.String() != "error: aborted by terminated\n" {
		t.Errorf("stderr = %q", errw.String())
	}
}

func TestTimingShownUnderQuiet(t *testing.T) {
	var out, errw bytes.Buffer
	r := testRunner(&out, &errw, nil)
	r.Sess.IO.Quiet = true
	r.Sess.Opts.Timing = true
	r.RunString(context.Background(), "say a")
	if !strings.HasPrefix(out.String(), "a\n(Time: ") || !strings.HasSuffix(out.String(), " ms)\n\n") {
		t.Errorf("timing output = %q", out.String())
	}
}

// An error joined from several (the parser's missing options) prints one
// "error:" line each, as virsh reports each missing option.
func TestPrintErrorJoined(t *testing.T) {
	var out, errb bytes.Buffer
	r := testRunner(&out, &errb, nil)
	r.PrintError(errors.Join(errors.New("command 'x' requires <a> option"), errors.New("command 'x' requires <b> option")))
	if got, want := errb.String(), "error: command 'x' requires <a> option\nerror: command 'x' requires <b> option\n"; got != want {
		t.Errorf("PrintError = %q, want %q", got, want)
	}
}
