package cmd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"libvirt.org/go/libvirt"

	"github.com/virtsh/virtsh/completion"
	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell"
)

// The `completion` command prints cobra's scripts; the scripts call
// `virtsh __complete WORDS...`, which Main hands to runComplete, which asks
// the completion package (the same engine the REPL uses).
func init() { register(completionCommands) }

func completionCommands(env *Env) []*cobra.Command { return []*cobra.Command{newCompletionCmd(env)} }

var completionShells = []string{"bash", "zsh", "fish", "powershell"}

func newCompletionCmd(env *Env) *cobra.Command {
	var sh string
	c := builtin("completion", "print a shell completion script",
		`Prints the script that makes bash, zsh, fish or PowerShell complete virtsh's
commands, options and values (domains by state, disks, checkpoints, ...).
The script asks virtsh itself for the candidates, honouring -c and -r given
earlier on the command line; a host that does not answer in time gives no
candidates. Load it in the current shell or install it as shown below.`)
	c.Example = `source <(virtsh completion bash)
virtsh completion bash > /etc/bash_completion.d/virtsh
virtsh completion zsh > "${fpath[1]}/_virtsh"
virtsh completion fish > ~/.config/fish/completions/virtsh.fish
virtsh completion powershell | Out-String | Invoke-Expression`
	s := newSpec(c)
	f := s.String(&sh, "shell", "shell to complete for: bash, zsh, fish or powershell", posReq, true)
	f.Annotations[annCompleter] = []string{completion.KindEnum, strings.Join(completionShells, ",")}
	action(c, func(ctx context.Context) error {
		root := c.Root()
		w := env.IO.Out
		switch sh {
		case "bash":
			return root.GenBashCompletionV2(w, true)
		case "zsh":
			return root.GenZshCompletion(w)
		case "fish":
			return root.GenFishCompletion(w, true)
		case "powershell":
			return root.GenPowerShellCompletionWithDesc(w)
		}
		return fmt.Errorf("unsupported shell '%s': use bash, zsh, fish or powershell", sh)
	})
	return c
}

// isCompleteRequest tells whether argv asks for completions (cobra's hidden
// __complete and __completeNoDesc commands, which the scripts call).
func isCompleteRequest(word string) bool {
	return word == cobra.ShellCompRequestCmd || word == cobra.ShellCompNoDescRequestCmd
}

// completionTimeout is how long one completion may wait for the host;
// VIRTSH_COMPLETION_TIMEOUT (a Go duration such as 500ms) overrides it.
func completionTimeout() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("VIRTSH_COMPLETION_TIMEOUT")); err == nil && d > 0 {
		return d
	}
	return completion.DefaultTimeout
}

// globalValueCompleters are the completers of global options that take a value.
var globalValueCompleters = map[string][]string{
	"connect": {completion.KindURI},
	"output":  {completion.KindOutput},
	"log":     {completion.KindFile},
	"debug":   {completion.KindEnum, "0,1,2,3,4"},
	"version": {completion.KindEnum, "short,long"},
}

// runComplete answers `virtsh __complete WORDS...` in cobra's protocol: one
// "candidate<TAB>description" line each, then ":<directive>". The words are
// what follows the program name on the line being completed: global options
// (whose -c and -r are honoured), the command, its arguments, and last the
// word under the cursor. It prints no errors: a shell prompt must not fill
// with them.
func runComplete(args []string, stdout io.Writer) int {
	noDesc := args[0] == cobra.ShellCompNoDescRequestCmd
	words := args[1:]
	if len(words) == 0 {
		words = []string{""}
	}
	uri, readOnly := "", false
	_ = readOnly // completion always opens read-only; -r changes nothing here
	gfs := GlobalFlags()
	last := len(words) - 1
	var res completion.Result
	i := 0
	done := false
	for i < last && !done {
		w := words[i]
		f, val, hasVal := globalLookup(gfs, w)
		if f == nil {
			break
		}
		i++
		if !takesValue(f) {
			if f.Name == "readonly" {
				readOnly = true
			}
			continue
		}
		if !hasVal {
			if i == last {
				res = globalValue(f, words[last], false)
				done = true
				break
			}
			val = words[i]
			i++
		}
		if f.Name == "connect" {
			uri = val
		}
	}
	if !done {
		cur := words[last]
		sess := shell.NewSession(&format.IO{Out: io.Discard, Err: io.Discard}, shell.Options{})
		// The command word itself is completed from every command; the
		// arguments of a command need only its group (newRootFor): the whole
		// tree was 2% of a completion's samples (perf, issue 8).
		root := NewRoot
		if i < last {
			root = func(sess *shell.Session) *cobra.Command { return newRootFor(sess, words[i]) }
		}
		host, closeHost := readOnlyHost(shell.ResolveURI(uri))
		c := &completion.Completer{
			Root:    root(sess),
			Host:    host,
			Timeout: completionTimeout(),
		}
		// Closed, not dropped at exit: libvirtd logs every client that goes
		// away without closing ("error : virNetSocketReadWire: End of file
		// while reading data") - one line per Tab press otherwise. Not
		// after a timeout: the query may still be using the connection.
		defer func() {
			if !c.TimedOut() {
				closeHost()
			}
		}()
		switch {
		case i == last && strings.HasPrefix(cur, "-"):
			res = globalNames(gfs, cur)
		default:
			res = c.Complete(words[i:])
		}
	}
	// One write, not one per candidate: 1,000 domain names were 1,000
	// write(2) calls (strace -c, issue 8). Completion prints nothing else.
	bw := bufio.NewWriter(stdout)
	for _, cd := range res.Cands {
		bw.WriteString(cd.Value)
		if !noDesc && cd.Desc != "" {
			bw.WriteByte('\t')
			bw.WriteString(cd.Desc)
		}
		bw.WriteByte('\n')
	}
	fmt.Fprintf(bw, ":%d\n", res.Directive)
	if err := bw.Flush(); err != nil {
		return 1
	}
	return 0
}

// globalLookup finds the global option of word (-c, --connect, --connect=URI).
func globalLookup(fs *pflag.FlagSet, w string) (*pflag.Flag, string, bool) {
	switch {
	case strings.HasPrefix(w, "--") && len(w) > 2:
		name, val, hasVal := strings.Cut(w[2:], "=")
		return fs.Lookup(name), val, hasVal
	case strings.HasPrefix(w, "-") && len(w) >= 2:
		f := fs.ShorthandLookup(w[1:2])
		if f != nil && len(w) > 2 && takesValue(f) {
			return f, w[2:], true // -ctest:///default
		}
		if len(w) > 2 {
			return nil, "", false
		}
		return f, "", false
	}
	return nil, "", false
}

func takesValue(f *pflag.Flag) bool { return f.Value.Type() != "bool" && f.NoOptDefVal == "" }

// globalValue completes the value of a global option: the word after it, or
// after "--name=" when eq.
func globalValue(f *pflag.Flag, cur string, eq bool) completion.Result {
	spec, ok := globalValueCompleters[f.Name]
	if !ok {
		return completion.Result{Directive: cobra.ShellCompDirectiveNoFileComp}
	}
	tmp := &cobra.Command{Use: "global"}
	tmp.Flags().String(f.Name, "", "")
	tf := tmp.Flags().Lookup(f.Name)
	tf.Annotations = map[string][]string{completion.AnnCompleter: spec, completion.AnnKind: {"string"}}
	c := &completion.Completer{Root: &cobra.Command{Use: "virtsh"}}
	c.Root.AddCommand(tmp)
	if eq {
		return c.Complete([]string{"global", "--" + f.Name + "=" + cur})
	}
	return c.Complete([]string{"global", "--" + f.Name, cur})
}

// globalNames completes global option names, or the value after --opt=.
func globalNames(fs *pflag.FlagSet, cur string) completion.Result {
	if name, val, ok := strings.Cut(strings.TrimPrefix(cur, "--"), "="); ok && strings.HasPrefix(cur, "--") {
		if f := fs.Lookup(name); f != nil {
			return globalValue(f, val, true)
		}
		return completion.Result{Directive: cobra.ShellCompDirectiveNoFileComp}
	}
	var out []completion.Candidate
	fs.VisitAll(func(f *pflag.Flag) {
		n := "--" + f.Name
		if len(f.Name) == 1 {
			n = "-" + f.Name
		}
		if strings.HasPrefix(n, cur) {
			out = append(out, completion.Candidate{Value: n, Desc: f.Usage})
		}
	})
	return completion.Result{Cands: out, Directive: cobra.ShellCompDirectiveNoFileComp}
}

// readOnlyHost opens a read-only connection to uri the first time a
// completer needs the host. Read-only: completion never changes anything,
// and a read-only open needs no authentication prompt.
func readOnlyHost(uri string) (host func() (completion.Host, error), closeHost func()) {
	var mu sync.Mutex
	var h *completion.LibvirtHost
	host = func() (completion.Host, error) {
		mu.Lock()
		defer mu.Unlock()
		if h != nil {
			return *h, nil
		}
		conn, err := libvirt.NewConnectReadOnly(uri)
		if err != nil {
			return nil, err
		}
		h = &completion.LibvirtHost{Conn: conn}
		return *h, nil
	}
	closeHost = func() {
		// TryLock: a connect still under way (a host that does not
		// answer) is left to the process's exit.
		if !mu.TryLock() {
			return
		}
		defer mu.Unlock()
		if h != nil {
			_, _ = h.Conn.Close()
			h = nil
		}
	}
	return host, closeHost
}
