package shell

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// Between commands of a script (not the REPL), SIGINT, SIGTERM and SIGHUP end
// the process the default way, as they did when each command had its own
// signal.Notify: the parent sees death by that signal. The child is this test
// binary, re-run with VIRTSH_SIGNAL_CHILD set.
func TestSignalBetweenCommandsEndsTheProcess(t *testing.T) {
	if s := os.Getenv("VIRTSH_SIGNAL_CHILD"); s != "" {
		var out, errw bytes.Buffer
		r := testRunner(&out, &errw, nil)
		if res := r.RunString(context.Background(), "say one"); !res.OK {
			os.Exit(3)
		}
		sig := map[string]syscall.Signal{"INT": syscall.SIGINT, "TERM": syscall.SIGTERM, "HUP": syscall.SIGHUP}[s]
		_ = syscall.Kill(syscall.Getpid(), sig)
		time.Sleep(5 * time.Second)
		os.Exit(4) // the signal did not end the process
	}
	for name, want := range map[string]syscall.Signal{"INT": syscall.SIGINT, "TERM": syscall.SIGTERM, "HUP": syscall.SIGHUP} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSignalBetweenCommandsEndsTheProcess$")
		cmd.Env = append(os.Environ(), "VIRTSH_SIGNAL_CHILD="+name, "GORACE=atexit_sleep_ms=0")
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Errorf("SIG%s between commands: child ended with %v, want death by signal", name, err)
			continue
		}
		ws := ee.Sys().(syscall.WaitStatus)
		if !ws.Signaled() || ws.Signal() != want {
			t.Errorf("SIG%s between commands: child status %v, want killed by %v", name, ws, want)
		}
	}
}

// In the REPL a signal between commands is the REPL's business: the relay
// neither ends the process nor hands it to a finished command.
func TestSignalBetweenCommandsInteractiveIsKept(t *testing.T) {
	var out, errw bytes.Buffer
	r := testRunner(&out, &errw, nil)
	r.Sess.Interactive = true
	if res := r.RunString(context.Background(), "say one"); !res.OK {
		t.Fatalf("say failed: %q", errw.String())
	}
	_ = syscall.Kill(syscall.Getpid(), syscall.SIGINT)
	time.Sleep(100 * time.Millisecond)
	out.Reset()
	if res := r.RunString(context.Background(), "say two"); !res.OK || res.Signal != nil || out.String() != "two\n" {
		t.Errorf("after a SIGINT at the prompt: %+v %q %q", res, out.String(), errw.String())
	}
}
