//go:build linux && cgo

package main

import (
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestLinkOrder generates a link order with scripts/link-order, as
// scripts/build does, builds virtsh with it (-tags virtsh_linkorder, the
// generated file laid into the package by -overlay, so the tree is left as
// it is) and without it, and checks that the order is in effect (the
// executable names the generated list's libraries first) and that it is
// safe: the same libraries load, and every one of the ~17,600 symbol
// references the dynamic loader resolves at start binds to the same library
// as with libvirt's own order. A reordered scope could otherwise let an
// earlier library interpose a symbol another one defines. The script makes
// the same comparison before it writes the file; this checks its claim.
func TestLinkOrder(t *testing.T) {
	dir := t.TempDir()
	gen := filepath.Join(dir, "linkorder_gen.go")
	if b, err := exec.Command("scripts/link-order", gen).CombinedOutput(); err != nil {
		t.Fatalf("scripts/link-order: %v\n%s", err, b)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	overlay := filepath.Join(dir, "overlay.json")
	o, err := json.Marshal(map[string]map[string]string{"Replace": {filepath.Join(wd, "linkorder_gen.go"): gen}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(overlay, o, 0o600); err != nil {
		t.Fatal(err)
	}
	ordered := filepath.Join(dir, "ordered")
	plain := filepath.Join(dir, "plain")
	build := func(out string, flags ...string) {
		t.Helper()
		args := append([]string{"build", "-o", out}, flags...)
		b, err := exec.Command("go", append(args, ".")...).CombinedOutput()
		if err != nil {
			t.Fatalf("go build %v: %v\n%s", flags, err, b)
		}
	}
	build(ordered, "-tags", "virtsh_linkorder", "-overlay", overlay)
	build(plain)

	want := linkOrderLibs(t, gen)
	got := neededLibs(t, ordered)
	if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
		t.Fatalf("the executable's DT_NEEDED does not start with the generated list:\n got %v\nwant %v", got, want)
	}
	if p := neededLibs(t, plain); len(p) >= len(want) && slices.Equal(p[:len(want)], want) {
		t.Fatalf("the default build names the generated list first too: the order proves nothing\n%v", p)
	}

	bo, lo := bindings(t, ordered), bindings(t, plain)
	if len(bo) < 10000 {
		t.Fatalf("only %d bindings seen: LD_DEBUG output not understood", len(bo))
	}
	if !slices.Equal(bo, lo) {
		var diff []string
		for _, b := range bo {
			if _, found := slices.BinarySearch(lo, b); !found {
				diff = append(diff, "+ "+b)
			}
		}
		for _, b := range lo {
			if _, found := slices.BinarySearch(bo, b); !found {
				diff = append(diff, "- "+b)
			}
		}
		if len(diff) > 20 {
			diff = diff[:20]
		}
		t.Fatalf("the link order changes %d bindings (+ ordered, - libvirt's order), first ones:\n%s",
			len(diff), strings.Join(diff, "\n"))
	}
}

// linkOrderLibs reads the -l:NAME list from a generated file's cgo directive.
func linkOrderLibs(t *testing.T, file string) []string {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var libs []string
	for _, m := range regexp.MustCompile(`-l:(\S+)`).FindAllStringSubmatch(string(src), -1) {
		libs = append(libs, m[1])
	}
	if len(libs) == 0 {
		t.Fatalf("%s names no library", file)
	}
	return libs
}

func neededLibs(t *testing.T, bin string) []string {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	libs, err := f.DynString(elf.DT_NEEDED)
	if err != nil {
		t.Fatal(err)
	}
	return libs
}

var bindingRE = regexp.MustCompile(`binding file (\S+) \[\d+\] to (\S+) \[\d+\]: (.*)$`)

// bindings runs bin under LD_DEBUG=bindings and returns its sorted
// "FROM -> TO: symbol" lines, the executable itself named "exe".
func bindings(t *testing.T, bin string) []string {
	t.Helper()
	c := exec.Command(bin, "echo", "hi")
	// LD_BIND_NOW: every binding is made at load, before earlyinit.c's
	// thread or any Go thread exists, so no two threads' lines interleave.
	c.Env = append(os.Environ(), "LD_DEBUG=bindings", "LD_BIND_NOW=1")
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("%s echo hi: %v", bin, err)
	}
	var bs []string
	for _, line := range strings.Split(string(out), "\n") {
		m := bindingRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		from, to := m[1], m[2]
		if from == bin {
			from = "exe"
		}
		if to == bin {
			to = "exe"
		}
		bs = append(bs, from+" -> "+to+": "+m[3])
	}
	sort.Strings(bs)
	return bs
}
