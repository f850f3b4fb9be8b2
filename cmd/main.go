package cmd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"libvirt.org/go/libvirt"

	"virtsh/format"
	"virtsh/shell"
)

// Version is virtsh's own version, printed by -v.
const Version = "0.1.0"

// globalFlags declares virsh's global options (plus -o). They stop at the
// first word that is not an option, like virsh's getopt "+".
func globalFlags(o *shell.Options, io *format.IO, help, ver *bool, verLong *bool, version *string, escape *string) *pflag.FlagSet {
	fs := pflag.NewFlagSet("virtsh", pflag.ContinueOnError)
	fs.SetInterspersed(false)
	fs.SortFlags = false
	fs.Usage = func() {}
	fs.SetOutput(io2discard{})
	fs.StringVarP(&o.URI, "connect", "c", "", "hypervisor connection URI")
	fs.IntVarP(&o.Debug, "debug", "d", 4, "debug level [0-4]")
	fs.StringVarP(escape, "escape", "e", "^]", "set escape sequence for console")
	fs.BoolVarP(help, "help", "h", false, "this help")
	fs.IntVarP(&o.KeepaliveInterval, "keepalive-interval", "k", shell.DefaultKeepaliveInterval, "keepalive interval in seconds, 0 for disable")
	fs.UintVarP(&o.KeepaliveCount, "keepalive-count", "K", shell.DefaultKeepaliveCount, "number of possible missed keepalive messages")
	fs.StringVarP(&o.LogFile, "log", "l", "", "output logging to file")
	fs.BoolVarP(&io.Quiet, "quiet", "q", false, "quiet mode")
	fs.BoolVarP(&o.ReadOnly, "readonly", "r", false, "connect readonly")
	fs.BoolVarP(&o.Timing, "timing", "t", false, "print timing information")
	fs.BoolVarP(ver, "v", "v", false, "short version")
	fs.BoolVarP(verLong, "V", "V", false, "long version")
	fs.StringVar(version, "version", "", "version, short (default) or long")
	fs.Lookup("version").NoOptDefVal = "short"
	fs.StringVarP(&io.Output, "output", "o", "table", "output format: table, json or yaml")
	return fs
}

type io2discard struct{}

func (io2discard) Write(p []byte) (int, error) { return len(p), nil }

// Main is virtsh's whole program: it parses the global options, then runs one
// command, a command string, a script from stdin, or the interactive shell.
// It returns the exit status; only main.go exits.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fio := &format.IO{In: stdin, Out: stdout, Err: stderr}
	var opts shell.Options
	var help, ver, verLong bool
	var version, escape string
	fs := globalFlags(&opts, fio, &help, &ver, &verLong, &version, &escape)
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "error: %s. See --help.\n", strings.TrimPrefix(err.Error(), "flag "))
		return 1
	}
	if rest := fs.Args(); len(rest) > 0 && isCompleteRequest(rest[0]) {
		return runComplete(rest, stdout) // cmd/completion.go
	}
	if !format.ValidOutput(fio.Output) {
		fmt.Fprintf(stderr, "error: unknown output format '%s': use table, json or yaml\n", fio.Output)
		return 1
	}
	if fs.Changed("keepalive-interval") || fs.Changed("keepalive-count") {
		opts.KeepaliveSet = true
		if opts.KeepaliveInterval < 0 {
			fmt.Fprintf(stderr, "error: Invalid value for option -k\n")
			return 1
		}
	}
	if opts.Debug < 0 || opts.Debug > 4 {
		fmt.Fprintf(stderr, "error: ignoring debug level %d out of range [0-4]\n", opts.Debug)
		opts.Debug = 4
	}
	if v := os.Getenv("VIRSH_DEBUG"); v != "" && !fs.Changed("debug") {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 && n <= 4 {
			opts.Debug = n
		}
	}
	if opts.LogFile == "" {
		opts.LogFile = os.Getenv("VIRSH_LOG_FILE")
	}
	switch {
	case help:
		printUsage(stdout)
		return 0
	case ver || version == "short":
		fmt.Fprintln(stdout, Version)
		return 0
	case verLong || version == "long":
		printLongVersion(stdout)
		return 0
	case version != "":
		fmt.Fprintf(stderr, "error: unknown version type '%s'\n", version)
		return 1
	}

	sess := shell.NewSession(fio, opts)
	defer sess.Close()
	runner := &shell.Runner{Sess: sess, NewTree: func() *cobra.Command { return NewRoot(sess) },
		TreeFor: func(name string) *cobra.Command { return newRootFor(sess, name) }}
	ctx := context.Background()
	rest := fs.Args()
	switch {
	case len(rest) == 1:
		return status(runner.RunString(ctx, rest[0]).OK)
	case len(rest) > 1:
		return status(runner.RunCommands(ctx, [][]string{rest}).OK)
	case isTerminal(stdin):
		repl := &shell.REPL{Runner: runner, Completer: NewCompleter(sess)}
		if err := repl.Run(ctx); err != nil {
			fmt.Fprintf(stderr, "error: %v\n", err)
			return 1
		}
		return 0
	default:
		return runScript(ctx, runner, stdin)
	}
}

// runScript reads commands from a non-terminal stdin, one line at a time: no
// banner, no prompt, and exit status 1 if any command failed (virsh would exit 0).
func runScript(ctx context.Context, r *shell.Runner, in io.Reader) int {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	failed := false
	for sc.Scan() {
		res := r.RunString(ctx, sc.Text())
		failed = failed || res.AnyErr
		if res.Quit {
			break
		}
	}
	if err := sc.Err(); err != nil {
		r.PrintError(err)
		failed = true
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

func printLongVersion(w io.Writer) {
	fmt.Fprintf(w, "virtsh command line tool %s\n", Version)
	if v, err := libvirt.GetVersion(); err == nil {
		fmt.Fprintf(w, "Built against libvirt %d.%d.%d\n", v/1000000, v/1000%1000, v%1000)
	}
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
  commands (non interactive mode):

`)
	sess := shell.NewSession(&format.IO{Out: w, Err: w}, shell.Options{})
	_ = printGroupedHelp(w, NewRoot(sess), "")
	fmt.Fprint(w, "\n  (specify help <group> for details about the commands in the group)\n\n  (specify help <command> for details about the command)\n\n")
}
