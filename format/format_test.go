package format

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// Expected layouts are virsh 9.0's (vsh-table.c), e.g. `virsh list --all`
// on test:///default prints exactly the first case.
func TestTable(t *testing.T) {
	cases := []struct {
		name   string
		quiet  bool
		header []string
		rows   [][]string
		want   string
	}{
		{"virsh-list", false, []string{"Id", "Name", "State"}, [][]string{{"1", "test", "running"}},
			" Id   Name   State\n" +
				"----------------------\n" +
				" 1    test   running\n"},
		{"wider-cells", false, []string{"Id", "Name", "State"}, [][]string{{"1", "test", "running"}, {"-", "a-long-name", "shut off"}},
			" Id   Name          State\n" +
				"------------------------------\n" +
				" 1    test          running\n" +
				" -    a-long-name   shut off\n"},
		{"quiet-drops-header-and-width", true, []string{"Identifier", "Name", "State"}, [][]string{{"1", "test", "running"}},
			" 1   test   running\n"},
		{"empty", false, []string{"Id", "Name", "State"}, nil,
			" Id   Name   State\n" +
				"--------------------\n"},
		{"empty-quiet", true, []string{"Id", "Name", "State"}, nil, ""},
		{"wide-unicode", false, []string{"Name", "Title"}, [][]string{{"日本語", "x"}, {"ab", "ÿ"}},
			" Name     Title\n" +
				"-----------------\n" +
				" 日本語   x\n" +
				" ab       ÿ\n"},
		{"control-chars", false, []string{"Name", "Title"}, [][]string{{"a\tb", "x\x1b[2Jy"}},
			" Name     Title\n" +
				"---------------------\n" +
				" a\\x09b   x\\x1b[2Jy\n"},
		{"empty-last-cell", false, []string{"Target", "Source"}, [][]string{{"vda", ""}, {"hda", "/x"}},
			" Target   Source\n" +
				"------------------\n" +
				" vda      \n" +
				" hda      /x\n"},
		{"one-column", false, []string{"Name"}, [][]string{{"a"}, {"bbbbbb"}},
			" Name\n" +
				"---------\n" +
				" a\n" +
				" bbbbbb\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Table(&b, c.quiet, c.header, c.rows); err != nil {
				t.Fatal(err)
			}
			if b.String() != c.want {
				t.Errorf("got\n%s(%q)\nwant\n%s(%q)", b.String(), b.String(), c.want, c.want)
			}
		})
	}
}

func TestParseScaled(t *testing.T) {
	const max = math.MaxUint64
	cases := []struct {
		in       string
		defScale uint64
		max      uint64
		want     uint64
		ok       bool
	}{
		{"1G", 1, max, 1 << 30, true},
		{"1g", 1, max, 1 << 30, true},
		{"1GiB", 1, max, 1 << 30, true},
		{"1gib", 1, max, 1 << 30, true},
		{"1GB", 1, max, 1e9, true},
		{"1Gb", 1, max, 1e9, true},
		{"512KiB", 1, max, 512 * 1024, true},
		{"10KB", 1, max, 10000, true},
		{"10k", 1, max, 10240, true},
		{"3M", 1, max, 3 << 20, true},
		{"2T", 1, max, 2 << 40, true},
		{"1P", 1, max, 1 << 50, true},
		{"1E", 1, max, 1 << 60, true},
		{"15EiB", 1, max, 15 << 60, true},
		{"100b", 1, max, 100, true},
		{"100B", 1, max, 100, true},
		{"100bB", 1, max, 0, false},
		{"100biB", 1, max, 0, false},
		{"7", 1, max, 7, true},
		{"7", 1024, max, 7168, true},
		{"0", 1024, max, 0, true},
		{" 1", 1, max, 1, true},
		{"\t+1k", 1, max, 1024, true},
		{"18446744073709551615", 1, max, math.MaxUint64, true},
		{"1024", 1, 1024, 1024, true},
		// Refused as virsh refuses them.
		{"10QB", 1, max, 0, false},
		{"1Y", 1, max, 0, false},
		{"-1", 1, max, 0, false},
		{"1e99", 1, max, 0, false},
		{"1.5G", 1, max, 0, false},
		{"", 1, max, 0, false},
		{" ", 1, max, 0, false},
		{"1 ", 1, max, 0, false},
		{"G", 1, max, 0, false},
		{"0x10", 1, max, 0, false},
		{"16EiB", 1, max, 0, false},
		{"18446744073709551616", 1, max, 0, false},
		{"99999999999999999999999", 1, max, 0, false},
		{"1025", 1, 1024, 0, false},
		{"2", 1024, 1024, 0, false},
		{"1KiBx", 1, max, 0, false},
		{"1KBB", 1, max, 0, false},
		{"1iB", 1, max, 0, false},
		{"5", 0, max, 0, false},
		{"++1", 1, max, 0, false},
		{"+-1", 1, max, 0, false},
	}
	for _, c := range cases {
		got, err := ParseScaled(c.in, c.defScale, c.max)
		if c.ok && (err != nil || got != c.want) {
			t.Errorf("ParseScaled(%q, %d, %d) = %d, %v; want %d", c.in, c.defScale, c.max, got, err, c.want)
		}
		if !c.ok && !errors.Is(err, ErrScaled) {
			t.Errorf("ParseScaled(%q, %d, %d) = %d, %v; want ErrScaled", c.in, c.defScale, c.max, got, err)
		}
	}
}

func TestParseScaledOrPercent(t *testing.T) {
	const total = 10 << 30
	cases := []struct {
		in      string
		want    uint64
		percent bool
		ok      bool
	}{
		{"50%", 5 << 30, true, true},
		{"100%", 10 << 30, true, true},
		{"50.5%", uint64(math.Floor(float64(total) * 50.5 / 100)), true, true},
		{"0.01%", uint64(math.Floor(float64(total) * 0.01 / 100)), true, true},
		{"1G", 1 << 30, false, true},
		{"150%", 0, true, false},
		{"0%", 0, true, false},
		{"-5%", 0, true, false},
		{"%", 0, true, false},
		{"1e1%", 0, true, false},
		{"NaN%", 0, true, false},
		{"0x10%", 0, true, false},
		{"10QB", 0, false, false},
	}
	for _, c := range cases {
		got, pct, err := ParseScaledOrPercent(c.in, 1, math.MaxUint64, total)
		if pct != c.percent {
			t.Errorf("ParseScaledOrPercent(%q) percent = %v, want %v", c.in, pct, c.percent)
		}
		if c.ok && (err != nil || got != c.want) {
			t.Errorf("ParseScaledOrPercent(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
		if !c.ok && !errors.Is(err, ErrScaled) {
			t.Errorf("ParseScaledOrPercent(%q) = %d, %v; want ErrScaled", c.in, got, err)
		}
	}
}

// HumanSize is virsh's vshPrettyCapacity printed with "%.3f %s" (--human).
func TestHumanSize(t *testing.T) {
	cases := map[uint64]string{
		0:                  "0.000 B",
		1023:               "1023.000 B",
		1024:               "1.000 KiB",
		1536:               "1.500 KiB",
		64 << 20:           "64.000 MiB",
		(1 << 30) - 1:      "1024.000 MiB",
		10 << 30:           "10.000 GiB",
		3 << 40:            "3.000 TiB",
		5 << 50:            "5.000 PiB",
		math.MaxUint64:     "16.000 EiB",
		1 << 60:            "1.000 EiB",
		1000 * 1000 * 1000: "953.674 MiB",
	}
	for in, want := range cases {
		if got := HumanSize(in); got != want {
			t.Errorf("HumanSize(%d) = %q, want %q", in, got, want)
		}
	}
}

type guestView struct {
	Name     string   `json:"name" yaml:"name"`
	ID       int      `json:"id" yaml:"id"`
	State    string   `json:"state" yaml:"state"`
	MemBytes uint64   `json:"memory_bytes" yaml:"memory_bytes"`
	Disks    []string `json:"disks" yaml:"disks"`
	Title    string   `json:"title,omitempty" yaml:"title,omitempty"`
}

func TestEncode(t *testing.T) {
	v := []guestView{{Name: "vm<1>&", ID: 1, State: "running", MemBytes: 1 << 30, Disks: []string{"vda"}}}
	var b bytes.Buffer
	io := &IO{Out: &b, Output: "json"}
	if err := io.Encode(v); err != nil {
		t.Fatal(err)
	}
	wantJSON := "[\n  {\n    \"name\": \"vm<1>&\",\n    \"id\": 1,\n    \"state\": \"running\",\n    \"memory_bytes\": 1073741824,\n    \"disks\": [\n      \"vda\"\n    ]\n  }\n]\n"
	if b.String() != wantJSON {
		t.Errorf("json = %q, want %q", b.String(), wantJSON)
	}
	var back []guestView
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back[0].MemBytes != 1<<30 {
		t.Errorf("json round trip: %v %+v", err, back)
	}

	b.Reset()
	io.Output = "yaml"
	if err := io.Encode(v); err != nil {
		t.Fatal(err)
	}
	wantYAML := "- name: vm<1>&\n  id: 1\n  state: running\n  memory_bytes: 1073741824\n  disks:\n    - vda\n"
	if b.String() != wantYAML {
		t.Errorf("yaml = %q, want %q", b.String(), wantYAML)
	}
	back = nil
	if err := yaml.Unmarshal(b.Bytes(), &back); err != nil || back[0].Name != "vm<1>&" {
		t.Errorf("yaml round trip: %v %+v", err, back)
	}

	b.Reset()
	if err := io.EncodeLine(map[string]int{"a": 1}); err != nil || b.String() != "{\"a\":1}\n" {
		t.Errorf("EncodeLine = %q, %v", b.String(), err)
	}
}

func TestIO(t *testing.T) {
	var out, errw bytes.Buffer
	io := &IO{Out: &out, Err: &errw, Quiet: true}
	io.Extra("hidden %d\n", 1)
	io.Printf("shown %d\n", 2)
	io.Errorf("err\n")
	if out.String() != "shown 2\n" || errw.String() != "err\n" {
		t.Errorf("out=%q err=%q", out.String(), errw.String())
	}
	for _, f := range []string{"table", "json", "yaml"} {
		if !ValidOutput(f) {
			t.Errorf("ValidOutput(%q) = false", f)
		}
	}
	if ValidOutput("xml") || ValidOutput("") {
		t.Errorf("ValidOutput accepts junk")
	}
	if (&IO{Output: "table"}).Structured() || !(&IO{Output: "yaml"}).Structured() {
		t.Errorf("Structured wrong")
	}
}

func ExampleTable() {
	var b strings.Builder
	_ = Table(&b, false, []string{"Id", "Name", "State"}, [][]string{{"1", "test", "running"}})
	fmt.Print(b.String())
	// Output:
	//  Id   Name   State
	// ----------------------
	//  1    test   running
}
