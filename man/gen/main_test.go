package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/virtsh/virtsh/cmd"
	"github.com/virtsh/virtsh/shell/spec"
)

// The committed pages are exactly what the generator writes now: a command
// added or changed without `scripts/gen-man` fails here.
func TestCommittedPagesAreCurrent(t *testing.T) {
	unsetEnv(t, "SOURCE_DATE_EPOCH")
	dir := t.TempDir()
	if err := generate(dir); err != nil {
		t.Fatal(err)
	}
	want := listPages(t, dir)
	have := listPages(t, "..")
	if strings.Join(want, " ") != strings.Join(have, " ") {
		t.Fatalf("man/ holds %v, the generator writes %v: run scripts/gen-man", have, want)
	}
	for _, name := range want {
		g, _ := os.ReadFile(filepath.Join(dir, name))
		c, _ := os.ReadFile(filepath.Join("..", name))
		if !bytes.Equal(g, c) {
			t.Errorf("man/%s differs from the generated page: run scripts/gen-man", name)
		}
	}
}

func listPages(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "virtsh*.1"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range m {
		out = append(out, filepath.Base(p))
	}
	sort.Strings(out)
	return out
}

// Generating twice gives the same bytes, and SOURCE_DATE_EPOCH sets the date.
func TestGenerationIsReproducible(t *testing.T) {
	unsetEnv(t, "SOURCE_DATE_EPOCH")
	a, b := Pages(), Pages()
	for k := range a {
		if a[k] != b[k] {
			t.Errorf("%s differs between two runs", k)
		}
	}
	if p := a["virtsh.1"]; !strings.Contains(p, `"`+pinnedDate+`"`) {
		t.Errorf("date not pinned: %s", strings.SplitN(p, "\n", 2)[0])
	}
	t.Setenv("SOURCE_DATE_EPOCH", "86400")
	if p := Pages()["virtsh.1"]; !strings.Contains(p, `"1970-01-02"`) {
		t.Errorf("SOURCE_DATE_EPOCH not honoured: %s", strings.SplitN(p, "\n", 2)[0])
	}
}

func writePages(t *testing.T) (string, map[string]string) {
	t.Helper()
	unsetEnv(t, "SOURCE_DATE_EPOCH")
	dir := t.TempDir()
	if err := generate(dir); err != nil {
		t.Fatal(err)
	}
	return dir, Pages()
}

// Every page is clean roff: groff with all warnings on prints nothing, and
// man renders it.
func TestPagesRenderWithoutWarnings(t *testing.T) {
	dir, pages := writePages(t)
	for name := range pages {
		path := filepath.Join(dir, name)
		out, err := exec.Command("groff", "-man", "-Tutf8", "-ww", "-z", path).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("groff %s: %v\n%s", name, err, out)
		}
		c := exec.Command("man", "--warnings=all", "-l", path)
		c.Env = append(os.Environ(), "MANWIDTH=80", "MAN_KEEP_FORMATTING=0", "LC_ALL=C.UTF-8")
		var so, se bytes.Buffer
		c.Stdout, c.Stderr = &so, &se
		if err := c.Run(); err != nil || se.Len() > 0 {
			t.Errorf("man -l %s: %v\n%s", name, err, se.String())
		}
		if !strings.Contains(ansi.ReplaceAllString(so.String(), ""), "NAME") {
			t.Errorf("man -l %s rendered no NAME section:\n%s", name, so.String())
		}
	}
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m|.\x08")

// Every positional placeholder (<domain>, [<dir>]) survives into the
// rendered page, in the synopsis and the options; every command is in
// virtsh(1) under its group; every page has examples.
func TestPagesShowPlaceholdersCommandsAndExamples(t *testing.T) {
	dir, pages := writePages(t)
	render := func(name string) string {
		c := exec.Command("man", "-l", filepath.Join(dir, name))
		c.Env = append(os.Environ(), "MANWIDTH=200", "LC_ALL=C.UTF-8")
		out, err := c.Output()
		if err != nil {
			t.Fatalf("man -l %s: %v", name, err)
		}
		// Long synopses wrap: compare with runs of white space folded.
		return strings.Join(strings.Fields(ansi.ReplaceAllString(string(out), "")), " ")
	}
	mainText := render("virtsh.1")
	decls := cmd.DocDeclarations()
	n := 0
	for _, g := range cmd.Groups() {
		cmds := cmd.GroupCommands(decls, g.ID)
		if len(cmds) > 0 && !strings.Contains(mainText, g.Title+" (help keyword") {
			t.Errorf("virtsh(1) lacks group %q", g.Title)
		}
		for _, c := range cmds {
			n++
			name := "virtsh-" + c.Name + ".1"
			if _, ok := pages[name]; !ok {
				t.Errorf("no page for %s", c.Name)
				continue
			}
			text := render(name)
			syn := cmd.Synopsis(c)
			if !strings.Contains(text, syn) {
				t.Errorf("%s: synopsis %q not rendered:\n%s", name, syn, text)
			}
			if !strings.Contains(mainText, syn) {
				t.Errorf("virtsh(1) lacks %q", syn)
			}
			for _, o := range c.Options {
				if o.Hidden {
					continue
				}
				// A positional shows as <name>, or as virsh shows a list
				// after a positional: {[--name] <string>}...
				if (o.Pos == spec.Req || o.Pos == spec.Opt) && !strings.Contains(text, "<"+o.Name+">") &&
					!strings.Contains(text, "[--"+o.Name+"] <string>") {
					t.Errorf("%s: placeholder <%s> missing", name, o.Name)
				}
				if !strings.Contains(text, cmd.OptionLabel(c, o)) {
					t.Errorf("%s: option %q missing", name, cmd.OptionLabel(c, o))
				}
			}
			if !strings.Contains(text, "EXAMPLES") {
				t.Errorf("%s: no EXAMPLES", name)
			}
		}
	}
	if n == 0 || len(pages) != n+1 {
		t.Errorf("%d commands but %d pages", n, len(pages))
	}
	for _, want := range []string{"-c URI, --connect=URI", "LIBVIRT_DEFAULT_URI", "VIRTSH_DEFAULT_CONNECT_URI",
		"VIRSH_DEFAULT_CONNECT_URI", "VIRTSH_HISTSIZE", "VISUAL", "EDITOR", "XDG_CACHE_HOME",
		"EXIT STATUS", "OUTPUT FORMATS", "virtsh/history", "virtsh completion bash"} {
		if !strings.Contains(mainText, want) {
			t.Errorf("virtsh(1) lacks %q", want)
		}
	}
}

// unsetEnv removes key for the test (an empty SOURCE_DATE_EPOCH is an error
// for groff) and restores it after.
func unsetEnv(t *testing.T, key string) {
	t.Helper()
	t.Setenv(key, "") // registers the restore
	os.Unsetenv(key)
}
