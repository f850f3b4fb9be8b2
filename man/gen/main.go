// Command gen writes virtsh's man pages from the command tree: virtsh(1) with
// the global options, environment, files, exit status, output formats and
// every command grouped as virsh groups them, and one virtsh-COMMAND(1) page
// per command with its synopsis, options and examples, the same text as
// `help COMMAND`.
//
// It writes roff itself rather than going through cobra/doc's Markdown path,
// in which virsh's <domain> placeholders vanish.
//
//	go run ./man/gen -o man
//
// The date is SOURCE_DATE_EPOCH when set, else a fixed date, so the output
// depends only on the sources.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/virtsh/virtsh/cmd"
	"github.com/virtsh/virtsh/shell/spec"
)

// pinnedDate is the pages' date when SOURCE_DATE_EPOCH is not set.
const pinnedDate = "2026-11-25"

func main() {
	out := flag.String("o", "man", "directory to write the pages to")
	flag.Parse()
	if err := generate(*out); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}

func manDate() string {
	if v := os.Getenv("SOURCE_DATE_EPOCH"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return time.Unix(n, 0).UTC().Format("2006-01-02")
		}
	}
	return pinnedDate
}

// generate writes every page into dir and removes pages of commands that no
// longer exist.
func generate(dir string) error {
	pages := Pages()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(dir, "virtsh*.1"))
	for _, p := range old {
		if _, ok := pages[filepath.Base(p)]; !ok {
			if err := os.Remove(p); err != nil {
				return err
			}
		}
	}
	for name, text := range pages {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Pages returns every page by file name.
func Pages() map[string]string {
	decls := cmd.DocDeclarations()
	pages := map[string]string{"virtsh.1": mainPage(decls)}
	for _, g := range cmd.Groups() {
		for _, c := range cmd.GroupCommands(decls, g.ID) {
			pages["virtsh-"+c.Name+".1"] = commandPage(c, g)
		}
	}
	return pages
}

// esc escapes text for roff: backslashes, hyphens (so that options can be
// copied) and a leading control character.
func esc(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	return s
}

// para writes text as roff lines: blank lines start a new paragraph and
// lines that start with a blank are kept as they are (literal blocks).
func para(b *bytes.Buffer, text string) {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	inLiteral := false
	for _, l := range lines {
		switch {
		case strings.TrimSpace(l) == "":
			if inLiteral {
				b.WriteString(".fi\n")
				inLiteral = false
			}
			b.WriteString(".PP\n")
		case strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t"):
			if !inLiteral {
				b.WriteString(".nf\n")
				inLiteral = true
			}
			b.WriteString(line(l) + "\n")
		default:
			if inLiteral {
				b.WriteString(".fi\n")
				inLiteral = false
			}
			b.WriteString(line(l) + "\n")
		}
	}
	if inLiteral {
		b.WriteString(".fi\n")
	}
}

// line escapes one output line, protecting a leading '.' or '\”.
func line(s string) string {
	s = esc(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

func header(b *bytes.Buffer, title string) {
	fmt.Fprintf(b, ".TH %s 1 \"%s\" \"virtsh %s\" \"virtsh Manual\"\n", strings.ToUpper(title), manDate(), cmd.Version)
	// No hyphenation and ragged-right lines: option names must read (and be
	// searched for) exactly as they are typed.
	b.WriteString(".nh\n.ad l\n")
}

// examples renders a command's examples, or one built from its synopsis.
func examples(c *spec.Command) string {
	if strings.TrimSpace(c.Example) != "" {
		return c.Example
	}
	ex := c.Name
	for _, o := range c.Options {
		if (o.Pos == spec.Req || o.Pos == spec.Opt) && o.Required {
			ex += " " + strings.ToUpper(o.Name)
		}
	}
	return ex
}

func commandPage(c *spec.Command, g cmd.Group) string {
	var b bytes.Buffer
	header(&b, "virtsh-"+c.Name)
	fmt.Fprintf(&b, ".SH NAME\nvirtsh\\-%s \\- %s\n", esc(c.Name), esc(c.Short))
	b.WriteString(".SH SYNOPSIS\n.nf\n")
	fmt.Fprintf(&b, "\\fBvirtsh\\fR [\\fIOPTION\\fR]... %s\n", line(cmd.Synopsis(c)))
	b.WriteString(".fi\n.PP\nIn the interactive shell, or in a command string:\n.nf\n")
	fmt.Fprintf(&b, "    %s\n.fi\n", line(cmd.Synopsis(c)))
	b.WriteString(".SH DESCRIPTION\n")
	if c.Long != "" {
		para(&b, c.Long)
	} else {
		para(&b, capitalize(c.Short)+".")
	}
	fmt.Fprintf(&b, ".PP\nGroup: %s (help keyword \\(oq%s\\(cq).\n", esc(g.Title), esc(g.ID))
	var opts bytes.Buffer
	for _, o := range c.Options {
		if o.Hidden {
			continue
		}
		fmt.Fprintf(&opts, ".TP\n.B %s\n", line(cmd.OptionLabel(c, o)))
		para(&opts, strings.Join(strings.Fields(o.Help), " "))
	}
	if opts.Len() > 0 {
		b.WriteString(".SH OPTIONS\n")
		b.Write(opts.Bytes())
	}
	b.WriteString(".SH EXAMPLES\nAs typed at the \\fBvirtsh #\\fR prompt (on the command line, quote for your shell):\n.PP\n.nf\n")
	for _, l := range strings.Split(strings.TrimRight(examples(c), "\n"), "\n") {
		fmt.Fprintf(&b, "    %s\n", line(l))
	}
	b.WriteString(".fi\n")
	if hasOutput(c) {
		b.WriteString(".SH OUTPUT\nBy default the output is virsh's text. With \\fB\\-o json\\fR or \\fB\\-o yaml\\fR (here or as a global option) the same data is printed as JSON or YAML with raw values; see \\fBvirtsh\\fR(1).\n")
		if f := cmd.JSONFields(c.Name); f != "" {
			fmt.Fprintf(&b, ".PP\nFields: %s.\n", esc(f))
		}
	}
	b.WriteString(".SH EXIT STATUS\n0 on success, 1 on failure (the error is printed on standard error as \\fBerror: ...\\fR).\n")
	b.WriteString(".SH SEE ALSO\n.BR virtsh (1),\n.BR virsh (1)\n")
	return b.String()
}

func hasOutput(c *spec.Command) bool { return c.Lookup("output") != nil }

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// globalArg names the value of each global option.
var globalArg = map[string]string{
	"connect": "URI", "debug": "NUM", "escape": "CHAR", "keepalive-interval": "NUM",
	"keepalive-count": "NUM", "log": "FILE", "output": "FORMAT", "version": "TYPE",
	"hosts": "HOSTS", "host-timeout": "SECONDS",
}

func globalLabel(o cmd.GlobalOption) string {
	var parts []string
	long := ""
	if o.Long != "" {
		long = "\\-\\-" + esc(o.Long)
	}
	if o.Short != 0 {
		s := "\\-" + esc(string(o.Short))
		if arg := globalArg[o.Long]; arg != "" {
			s += " \\fI" + arg + "\\fR"
		}
		parts = append(parts, "\\fB"+s+"\\fR")
	}
	if long != "" {
		s := long
		switch arg := globalArg[o.Long]; {
		case !o.TakesValue:
		case o.Optional:
			s += "[=\\fI" + arg + "\\fR]"
		case arg != "":
			s += "=\\fI" + arg + "\\fR"
		}
		parts = append(parts, "\\fB"+s+"\\fR")
	}
	return strings.Join(parts, ", ")
}

func mainPage(decls []*spec.Command) string {
	var b bytes.Buffer
	header(&b, "virtsh")
	b.WriteString(`.SH NAME
virtsh \- virsh\-compatible virtualization shell
.SH SYNOPSIS
.nf
\fBvirtsh\fR [\fIOPTION\fR]... [\fICOMMAND_STRING\fR]
\fBvirtsh\fR [\fIOPTION\fR]... \fICOMMAND\fR [\fIARG\fR]...
.fi
.SH DESCRIPTION
`)
	para(&b, cmd.Description)
	b.WriteString(`.PP
With one argument after the options, virtsh runs it as a command string:
commands separated by \fB;\fR or newlines, quoted with \fB\(aq\fR and
\fB"\fR, with \fB#\fR comments, exactly as virsh splits them. With several
arguments, they are one command and its words. With none, virtsh reads
commands from standard input: on a terminal it is an interactive shell
with line editing, history and completion (prompt \fBvirtsh #\fR, or
\fBvirtsh >\fR when read\-only); otherwise it runs each line as a script.
Commands, their options, their output and their messages are virsh's:
\fIvirsh \fR\fIx\fR becomes \fIvirtsh \fR\fIx\fR.
.PP
Options of a command are given as \fB\-\-name value\fR, \fB\-\-name=value\fR or,
for the options shown as \fB<name>\fR in a synopsis, as bare words in order.
\fB\-\-\fR ends the options. \fB\-\-help\fR anywhere prints the command's help.
.PP
The connection is opened by the first command that needs one, even with
\fB\-c\fR: help, echo and completion never wait for a host.
.SH OPTIONS
`)
	for _, o := range cmd.GlobalOptions() {
		fmt.Fprintf(&b, ".TP\n%s\n%s\n", globalLabel(o), line(capitalize(o.Usage)+"."))
	}
	b.WriteString(".SH COMMANDS\nEach command has its own page, \\fBvirtsh\\-\\fR\\fIcommand\\fR(1), and the same text in \\fBvirtsh help\\fR \\fIcommand\\fR.\n")
	for _, g := range cmd.Groups() {
		cmds := cmd.GroupCommands(decls, g.ID)
		if len(cmds) == 0 {
			continue
		}
		fmt.Fprintf(&b, ".SS %s (help keyword \\(oq%s\\(cq)\n", esc(g.Title), esc(g.ID))
		for _, c := range cmds {
			fmt.Fprintf(&b, ".TP\n.B %s\n%s\n.br\nSee \\fBvirtsh\\-%s\\fR(1).\n", line(cmd.Synopsis(c)), line(capitalize(c.Short)+"."), esc(c.Name))
		}
	}
	b.WriteString(`.SH OUTPUT FORMATS
Commands that print data take \fB\-o\fR \fIFORMAT\fR (\fB\-\-output\fR), as does
virtsh itself for every command it runs: \fBtable\fR (the default) is virsh's
text, byte for byte; \fBjson\fR and \fByaml\fR print the same data as one
document with raw values (bytes, seconds, states as words) and lower_snake_case
keys, for scripts:
.PP
.nf
    virtsh \-o json dominfo vm1
    virtsh list \-\-all \-o yaml
.fi
.PP
Errors are never structured: they go to standard error as \fBerror: ...\fR lines.
`)
	b.WriteString(".PP\nThe fields of each command (stable names; \\(dq?\\(dq marks a field present only when it applies):\n")
	for _, g := range cmd.Groups() {
		for _, c := range cmd.GroupCommands(decls, g.ID) {
			if f := cmd.JSONFields(c.Name); f != "" {
				fmt.Fprintf(&b, ".TP\n.B %s\n%s\n", esc(c.Name), esc(f))
			}
		}
	}
	b.WriteString(`.SH COMPLETION
\fBvirtsh completion\fR \fISHELL\fR prints a completion script for bash, zsh, fish
or PowerShell. It completes command names, options and their values: domains
filtered by state as virsh filters them (\fBstart\fR offers inactive domains,
\fBresume\fR paused ones), disk targets, checkpoints, snapshots, event names,
\fB\-\-mode\fR values, output formats, URIs (including libvirt.conf
\fBuri_aliases\fR) and files. \fB\-c\fR \fIURI\fR given earlier on the line is
honoured; a host that does not answer within 2 seconds
(\fBVIRTSH_COMPLETION_TIMEOUT\fR) gives no candidates. The interactive shell
completes with the same engine on Tab.
.PP
.nf
    source <(virtsh completion bash)          # bash, this shell
    virtsh completion bash > /etc/bash_completion.d/virtsh
    virtsh completion zsh > "${fpath[1]}/_virtsh"
    virtsh completion fish > ~/.config/fish/completions/virtsh.fish
    virtsh completion powershell | Out\-String | Invoke\-Expression
.fi
.SH ENVIRONMENT
.TP
.B VIRTSH_DEFAULT_CONNECT_URI
The URI to connect to when \fB\-c\fR is not given.
.TP
.B VIRSH_DEFAULT_CONNECT_URI
Read when \fBVIRTSH_DEFAULT_CONNECT_URI\fR is not set, so that a virsh
user's setting keeps working.
.TP
.B LIBVIRT_DEFAULT_URI
libvirt's own default URI, used when neither of the above is set; then
\fBuri_default\fR in libvirt.conf.
.TP
.B VIRTSH_HISTSIZE
Number of lines of history to keep (default 500, 0 to 500000; virsh's
\fBVIRSH_HISTSIZE\fR is read when it is not set).
.TP
.BR VISUAL ", " EDITOR
The editor of the \fB*edit\fR commands (\fBVISUAL\fR first, then \fBEDITOR\fR,
else \fBvi\fR).
.TP
.B XDG_CACHE_HOME
Base directory of the history file (default \fI~/.cache\fR).
.TP
.BR VIRSH_DEBUG ", " VIRSH_LOG_FILE
Default debug level and log file, as \fB\-d\fR and \fB\-l\fR.
.TP
.B VIRTSH_COMPLETION_TIMEOUT
How long completion waits for the host (a duration such as \fB500ms\fR;
default \fB2s\fR).
.SH FILES
.TP
.I $XDG_CACHE_HOME/virtsh/history
History of the interactive shell (\fI~/.cache/virtsh/history\fR by default),
appended as each line is entered, before it runs; at most \fBVIRTSH_HISTSIZE\fR
lines (plus a tenth), mode 0600. A history path that is a symbolic link, not a
regular file, or not the user's own is refused with one error line, and the
shell keeps its history in memory only.
.TP
.IR /etc/libvirt/libvirt.conf ", " $XDG_CONFIG_HOME/libvirt/libvirt.conf
libvirt client configuration: \fBuri_default\fR and \fBuri_aliases\fR
(which completion offers).
.SH EXIT STATUS
.TP
.B 0
The command (for a command string: the last command run) succeeded.
.TP
.B 1
It failed, or an option or the command string could not be parsed (then
nothing in the string runs). A script read from standard input exits 1 when
any of its commands failed. The interactive shell exits 0.
.SH EXAMPLES
.nf
    virtsh \-c qemu:///system list \-\-all
    virtsh \(aqstart vm1; domstate vm1\(aq
    virtsh \-o json domstats vm1
    echo \(aqlist \-\-all\(aq | virtsh \-c test:///default
.fi
.SH SEE ALSO
.BR virsh (1),
.BR libvirtd (8),
.BR virtsh\-help (1)
`)
	return b.String()
}
