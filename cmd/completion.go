package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"libvirt.org/go/libvirt"

	"github.com/virtsh/virtsh/completion"
	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell"
	"github.com/virtsh/virtsh/shell/spec"
)

// The `completion` command prints cobra's scripts; the scripts call
// `virtsh __complete WORDS...`, which Main hands to runComplete, which asks
// the completion package (the same engine the REPL uses).

var completionShells = []string{"bash", "zsh", "fish", "powershell"}

func newCompletionCmd(env *Env) *spec.Command {
	var sh string
	c := &spec.Command{Short: "print a shell completion script", Long: `Prints the script that makes bash, zsh, fish or PowerShell complete virtsh's
commands, options and values (domains by state, disks, checkpoints, ...).
The script asks virtsh itself for the candidates, honouring -c and -r given
earlier on the command line; a host that does not answer in time gives no
candidates. Load it in the current shell or install it as shown below.`}
	c.Example = `source <(virtsh completion bash)
virtsh completion bash > /etc/bash_completion.d/virtsh
virtsh completion zsh > "${fpath[1]}/_virtsh"
virtsh completion fish > ~/.config/fish/completions/virtsh.fish
virtsh completion powershell | Out-String | Invoke-Expression`
	f := c.String(&sh, "shell", "shell to complete for: bash, zsh, fish or powershell", spec.Req, true)
	f.Complete(spec.Enum, strings.Join(completionShells, ","))
	c.Run = func(ctx context.Context) error {
		root := Tree(env.Sess)
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
	}
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

// catalog is the completion engine's view of the command table: a command's
// arguments need only its own declaration; its name, all of them.
func catalog(sess *shell.Session) completion.Catalog {
	cat := completion.Catalog{
		Lookup: func(name string) *spec.Command { return declaration(sess, name) },
		All:    func() []*spec.Command { return Declarations(sess) },
	}
	for _, g := range groups {
		cat.Groups = append(cat.Groups, completion.Candidate{Value: g.ID, Desc: g.Title})
	}
	return cat
}

// runComplete answers `virtsh __complete WORDS...` in cobra's protocol: one
// "candidate<TAB>description" line each, then ":<directive>". The words are
// what follows the program name on the line being completed: global options
// (read by the same getopt as Main's, so -c is honoured), the command, its
// arguments, and last the word under the cursor. It prints no errors: a
// shell prompt must not fill with them.
func runComplete(args []string, stdout io.Writer) int {
	noDesc := args[0] == cobra.ShellCompNoDescRequestCmd
	words := args[1:]
	if len(words) == 0 {
		words = []string{""}
	}
	before, cur := words[:len(words)-1], words[len(words)-1]
	uri := ""
	n, _, err := getopt(before, func(p parsedOpt) (bool, error) {
		if p.opt.short == 'c' {
			uri = p.arg
		}
		return false, nil
	})
	sess := shell.NewSession(&format.IO{Out: io.Discard, Err: io.Discard}, shell.Options{})
	host, closeHost := readOnlyHost(shell.ResolveURI(uri))
	c := &completion.Completer{Commands: catalog(sess), Host: host, Timeout: completionTimeout()}
	// Closed, not dropped at exit: libvirtd logs every client that goes
	// away without closing ("error : virNetSocketReadWire: End of file
	// while reading data") - one line per Tab press otherwise. Not after a
	// timeout: the query may still be using the connection.
	defer func() {
		if !c.TimedOut() {
			closeHost()
		}
	}()
	var missing *missingArgError
	var res completion.Result
	switch {
	case errors.As(err, &missing):
		res = c.OptionValues(globalOption(missing.opt), cur, "")
	case err != nil:
		res = completion.Result{Directive: cobra.ShellCompDirectiveNoFileComp}
	case n == len(before) && strings.HasPrefix(cur, "-"):
		res = globalNames(c, cur)
	default:
		res = c.Complete(words[n:])
	}
	// One write, not one per candidate: completing 1,000 domains would be
	// 1,000 write(2) calls. Completion prints nothing else.
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

// globalOption is a global option as the completion engine sees an option.
func globalOption(o *globalOpt) *spec.Option {
	return &spec.Option{Name: o.long, Kind: spec.String, Completer: o.complete}
}

// globalNames completes global option names, or the value after --opt=.
func globalNames(c *completion.Completer, cur string) completion.Result {
	if name, val, ok := strings.Cut(strings.TrimPrefix(cur, "--"), "="); ok && strings.HasPrefix(cur, "--") {
		if o := globalLong(name); o != nil && o.kind != argNone {
			return c.OptionValues(globalOption(o), val, "--"+name+"=")
		}
		return completion.Result{Directive: cobra.ShellCompDirectiveNoFileComp}
	}
	var out []completion.Candidate
	for _, o := range globalOpts {
		n := "--" + o.long
		if o.long == "" {
			n = "-" + string(o.short)
		}
		if strings.HasPrefix(n, cur) {
			out = append(out, completion.Candidate{Value: n, Desc: o.usage})
		}
	}
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
