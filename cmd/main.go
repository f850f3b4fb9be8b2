package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"libvirt.org/go/libvirt"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell"
)

// Version is virtsh's own version, printed by --version=long and -V.
const Version = "0.1.0"

// Main is virtsh's whole program: it parses the global options, then runs one
// command, a command string, a script from stdin, or the interactive shell.
// It returns the exit status; only main.go exits.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fio := &format.IO{In: stdin, Out: stdout, Err: stderr, Output: "table"}
	opts := shell.Options{
		Debug:             4,
		KeepaliveInterval: shell.DefaultKeepaliveInterval,
		KeepaliveCount:    shell.DefaultKeepaliveCount,
	}
	debugSet := false
	var hosts fleetOptions
	// Options act as they are read, as in virshParseArgv: -h and -v print
	// and stop, a bad value fails before later options are looked at.
	exit := -1
	n, done, err := getopt(args, func(p parsedOpt) (bool, error) {
		switch p.opt.short {
		case 0: // virtsh's long-only options
			return false, hosts.set(p)
		case 'c':
			opts.URI = p.arg
		case 'd':
			d, ok := strtol(p.arg, 10)
			if !ok {
				return false, fmt.Errorf("option %s takes a numeric argument", p.optName())
			}
			if d < 0 || d > 4 {
				fmt.Fprintf(stderr, "error: ignoring debug level %d out of range [0-4]\n", d)
			} else {
				opts.Debug, debugSet = d, true
			}
		case 'e':
			if !validEscape(p.arg) {
				//lint:ignore ST1005 virsh's exact words
				return false, fmt.Errorf("Invalid string '%s' for escape sequence", p.arg)
			}
			opts.Escape = p.arg
		case 'h':
			printUsage(stdout)
			exit = 0
			return true, nil
		case 'k', 'K':
			v, ok := strtol(p.arg, 0)
			if !ok {
				//lint:ignore ST1005 virsh's exact words
				return false, fmt.Errorf("Invalid value for option %s", p.optName())
			}
			if v < 0 {
				return false, fmt.Errorf("option %s requires a positive integer argument", p.optName())
			}
			if p.opt.short == 'k' {
				opts.KeepaliveInterval = v
			} else {
				opts.KeepaliveCount = uint(v)
			}
			opts.KeepaliveSet = true
		case 'l':
			opts.LogFile = p.arg
		case 'q':
			fio.Quiet = true
		case 'r':
			opts.ReadOnly = true
		case 't':
			opts.Timing = true
		case 'v':
			if p.arg != "long" {
				// virsh -v is the libvirt version (scripts read it so);
				// virtsh's own is in --version=long.
				fmt.Fprintln(stdout, libvirtVersion())
				exit = 0
				return true, nil
			}
			printLongVersion(stdout)
			exit = 0
			return true, nil
		case 'V':
			printLongVersion(stdout)
			exit = 0
			return true, nil
		case 'o':
			if !format.ValidOutput(p.arg) {
				return false, fmt.Errorf("unknown output format '%s': use table, json or yaml", p.arg)
			}
			fio.Output = p.arg
		}
		return false, nil
	})
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 1
	}
	if done {
		return exit
	}
	if rest := args[n:]; len(rest) > 0 && isCompleteRequest(rest[0]) {
		return runComplete(rest, stdout) // cmd/completion.go
	}
	if v := os.Getenv("VIRSH_DEBUG"); v != "" && !debugSet {
		if d, ok := strtol(v, 10); ok && d >= 0 && d <= 4 {
			opts.Debug = d
		}
	}
	if opts.LogFile == "" {
		opts.LogFile = os.Getenv("VIRSH_LOG_FILE")
	}

	if opts.OneShot = len(args[n:]) > 0; opts.OneShot {
		oneShotGC()
	}
	sess := shell.NewSession(fio, opts)
	defer sess.Close()
	if err := hosts.apply(sess); err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 1
	}
	// The connection is opened by the first command that needs one, even
	// with -c (virsh connects at start there): help, echo and completion
	// never wait for a host, and a bad URI fails the first command that
	// needs it, with virsh's messages.
	runner := NewRunner(sess)
	ctx := context.Background()
	rest := args[n:]
	switch {
	case len(rest) == 1:
		return resultStatus(runner.RunString(ctx, rest[0]))
	case len(rest) > 1:
		return resultStatus(runner.RunCommands(ctx, [][]string{rest}))
	case isTerminal(stdin):
		repl := &shell.REPL{Runner: runner, Completer: NewCompleter(sess)}
		if err := repl.Run(ctx); err != nil {
			var se *shell.SignalExit
			if errors.As(err, &se) {
				return signalStatus(se.Signal)
			}
			fmt.Fprintf(stderr, "error: %v\n", err)
			return 1
		}
		return 0
	default:
		return runScript(ctx, runner, stdin)
	}
}

// resultStatus is the exit status of a command string: the last command's
// (virsh's rule), or 128+N when SIGTERM/SIGHUP ended it.
func resultStatus(res shell.Result) int {
	if res.Signal != nil && shell.Terminating(res.Signal) {
		return signalStatus(res.Signal)
	}
	return status(res.OK)
}

// signalStatus is the shell convention for "ended by signal N".
func signalStatus(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 1
}

// runScript reads commands from a non-terminal stdin, one line at a time: no
// banner, no prompt, and exit status 1 if any command failed (virsh would exit 0).
func runScript(ctx context.Context, r *shell.Runner, in io.Reader) int {
	q := newScriptLines(in)
	defer q.close() // after quit, the reader stops at its next line
	failed := false
	for {
		text, ok, done, err := q.take()
		if !ok && !done {
			select {
			case <-q.ready:
			case <-time.After(shell.EventLoopDelay):
				// The script waits for its next line (a program feeding
				// virtsh over time): its connection lives long, so libvirt's
				// event loop must run, for keepalive and for virsh's
				// "Disconnected from ..." as soon as the daemon goes away. A
				// script whose lines are all there (piped from a file) never
				// waits here and spares the loop's cost.
				r.Sess.StartEventLoop()
				<-q.ready
			}
			continue
		}
		if done {
			if err != nil {
				r.PrintError(err)
				failed = true
			}
			break
		}
		res := r.RunString(ctx, text)
		failed = failed || res.AnyErr
		if res.Signal != nil && shell.Terminating(res.Signal) {
			return signalStatus(res.Signal)
		}
		if res.Quit {
			break
		}
	}
	return status(!failed)
}

func status(ok bool) int {
	if ok {
		return 0
	}
	return 1
}

func isTerminal(r io.Reader) bool { return format.IsTerminal(r) }

// libvirtVersion is the version of the libvirt library in use, as virsh -v
// prints its own ("9.0.0").
func libvirtVersion() string {
	v, err := libvirt.GetVersion()
	if err != nil {
		return "unknown"
	}
	return fmt.Sprintf("%d.%d.%d", v/1000000, v/1000%1000, v%1000)
}

func printLongVersion(w io.Writer) {
	fmt.Fprintf(w, "virtsh command line tool %s\n", Version)
	fmt.Fprintf(w, "Built against libvirt %s\n", libvirtVersion())
	fmt.Fprintln(w, "See https://libvirt.org/ for libvirt itself.")
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `
virtsh [options]... [<command_string>]
virtsh [options]... <command> [args...]

  options:
    -c | --connect=URI      hypervisor connection URI
    -d | --debug=NUM        debug level [0-4]
    -e | --escape <char>    set escape sequence for console
    -h | --help             this help
    -k | --keepalive-interval=NUM
                            keepalive interval in seconds, 0 for disable
    -K | --keepalive-count=NUM
                            number of possible missed keepalive messages
    -l | --log=FILE         output logging to file
    -o | --output=FORMAT    output format: table (virsh's text), json or yaml
    -q | --quiet            quiet mode
    -r | --readonly         connect readonly
    -t | --timing           print timing information
    -v                      short version
    -V                      long version
         --version[=TYPE]   version, TYPE is short or long (default short)
         --hosts=HOSTS      run on several hosts: NAME[,NAME...] (libvirt.conf
                            uri_aliases, URIs) or all
         --host-timeout=SECONDS
                            how long to wait for each host (default 5)
  commands (non interactive mode):

`)
	sess := shell.NewSession(&format.IO{Out: w, Err: w}, shell.Options{})
	// virsh -h titles its groups without the colon `help` puts after them.
	var b strings.Builder
	_ = printGroupedHelp(&b, Declarations(sess), "")
	for _, l := range strings.SplitAfter(b.String(), "\n") {
		if strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "  ") {
			l = strings.Replace(l, "):\n", ")\n", 1)
		}
		fmt.Fprint(w, l)
	}
	fmt.Fprint(w, "\n  (specify help <group> for details about the commands in the group)\n\n  (specify help <command> for details about the command)\n\n")
}

// oneShotGC lowers the heap growth that triggers a collection to 50% for a
// one-shot command (argv or a single command string). Such a command's live
// heap is small, even while `list --all` renders many guests, but Go lets
// the heap reach 4 MiB before its first collection, so its peak
// memory is mostly garbage: collecting earlier lowers the peak RSS, and the
// collections run on the other core (README "Benchmarks"). Scripts and the
// REPL keep Go's default: over many commands the extra collections cost
// more time than the memory is worth. GOGC in the environment always wins.
func oneShotGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
}
