package shell

import (
	"strings"
	"testing"
	"unsafe"

	"libvirt.org/go/libvirt"
)

// TestAdoptConnect checks the one assumption takePreconnected makes about
// libvirt.org/go/libvirt: that its Connect is a single virConnectPtr, so a
// connection opened in C can be used through the binding.
func TestAdoptConnect(t *testing.T) {
	if unsafe.Sizeof(libvirt.Connect{}) != unsafe.Sizeof(uintptr(0)) {
		t.Fatalf("libvirt.Connect is %d bytes: no longer one pointer, adoptConnect is wrong", unsafe.Sizeof(libvirt.Connect{}))
	}
	// A virConnectPtr from C, as earlyinit.c makes one: taken out of a
	// binding Connect (the same one-pointer assumption read the other way)
	// with its own reference, so both can be closed.
	orig, err := libvirt.NewConnect("test:///default")
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	if err := orig.Ref(); err != nil {
		t.Fatal(err)
	}
	conn := adoptConnect(*(*unsafe.Pointer)(unsafe.Pointer(orig)))
	defer conn.Close()
	got, err := conn.GetURI()
	if err != nil || got != "test:///default" {
		t.Fatalf("adopted connection: GetURI = %q, %v", got, err)
	}
	doms, err := conn.ListAllDomains(0)
	if err != nil || len(doms) != 1 {
		t.Fatalf("adopted connection: %d domains, %v; want test:///default's one", len(doms), err)
	}
	name, _ := doms[0].GetName()
	_ = doms[0].Free()
	if name != "test" {
		t.Errorf("adopted connection lists %q, want test", name)
	}
}

// In a test binary (no virtsh main package) nothing is opened early, and
// taking gives nothing.
func TestNoPreconnectOutsideVirtsh(t *testing.T) {
	if preconnectPlanned() {
		t.Fatal("a test binary planned an early connection")
	}
	if c := takePreconnected("", false); c != nil {
		t.Fatal("took an early connection that was never planned")
	}
}

// The decision earlyinit.c makes from a command line, before Go runs.
func TestPreconnectDecision(t *testing.T) {
	t.Setenv("VIRTSH_DEFAULT_CONNECT_URI", "")
	t.Setenv("VIRSH_DEFAULT_CONNECT_URI", "")
	t.Setenv("LIBVIRT_DEFAULT_URI", "")
	type want struct {
		want   bool
		uri    string
		uriSet bool
		ro     bool
	}
	cases := []struct {
		env  map[string]string
		args []string
		want want
	}{
		{nil, []string{"virtsh", "-c", "qemu:///system", "domstate", "vm"}, want{true, "qemu:///system", true, false}},
		{nil, []string{"virtsh", "--connect=test:///default", "list"}, want{true, "test:///default", true, false}},
		{nil, []string{"virtsh", "-q", "--connect", "qemu+unix:///system", "-q", "dominfo", "vm"}, want{true, "qemu+unix:///system", true, false}},
		{nil, []string{"virtsh", "-c", "a:///x", "-c", "test:///default", "list"}, want{true, "test:///default", true, false}},
		{map[string]string{"LIBVIRT_DEFAULT_URI": "qemu:///system"}, []string{"virtsh", "domstate", "vm"}, want{true, "", false, false}},
		{map[string]string{"VIRSH_DEFAULT_CONNECT_URI": "test:///default"}, []string{"virtsh", "list"}, want{true, "test:///default", true, false}},
		{map[string]string{"VIRTSH_DEFAULT_CONNECT_URI": "qemu:///session", "VIRSH_DEFAULT_CONNECT_URI": "test:///default"}, []string{"virtsh", "list"}, want{true, "qemu:///session", true, false}},
		{map[string]string{"LIBVIRT_DEFAULT_URI": "qemu:///system"}, []string{"virtsh", "__complete", "start", ""}, want{true, "", false, true}},
		{map[string]string{"LIBVIRT_DEFAULT_URI": "qemu:///system"}, []string{"virtsh", "__completeNoDesc", "-c", "test:///default", "dominfo", "v"}, want{true, "test:///default", true, true}},
		// Nothing is opened early:
		{nil, []string{"virtsh", "domstate", "vm"}, want{}},                                                   // libvirt.conf or probing decides
		{nil, []string{"virtsh", "-c", "qemu+ssh://host/system", "list"}, want{}},                             // remote
		{nil, []string{"virtsh", "-c", "qemu+tcp:///system", "list"}, want{}},                                 // a transport
		{nil, []string{"virtsh", "-c", "myalias", "list"}, want{}},                                            // an alias
		{nil, []string{"virtsh", "-c", "", "list"}, want{}},                                                   // -c "": the environment
		{nil, []string{"virtsh", "-r", "-c", "test:///default", "list"}, want{}},                              // read-only
		{nil, []string{"virtsh", "-c", "test:///default"}, want{}},                                            // the REPL
		{nil, []string{"virtsh"}, want{}},                                                                     // the REPL
		{nil, []string{"virtsh", "-c", "test:///default", "list; dominfo vm"}, want{}},                        // a command string
		{nil, []string{"virtsh", "-c", "test:///default", "echo", "hi"}, want{}},                              // a built-in
		{nil, []string{"virtsh", "-c", "test:///default", "help"}, want{}},                                    // a built-in
		{nil, []string{"virtsh", "-c", "test:///default", "completion", "bash"}, want{}},                      // no host
		{nil, []string{"virtsh", "-c"}, want{}},                                                               // a bad option
		{nil, []string{"virtsh", "-c", "test:///default", "--", "list"}, want{}},                              // unusual: left to Go
		{nil, []string{"virtsh", "__complete", "-c", "test:///default", "start", "--pa"}, want{}},             // an option name
		{nil, []string{"virtsh", "__complete", "-c", "test:///default", "sta"}, want{}},                       // the command word
		{nil, []string{"virtsh", "__complete", "-c", "test:///default", "echo", ""}, want{}},                  // a built-in
		{map[string]string{"LIBVIRT_DEFAULT_URI": "qemu+ssh://h/system"}, []string{"virtsh", "list"}, want{}}, // remote
	}
	for _, c := range cases {
		for k, v := range c.env {
			t.Setenv(k, v)
		}
		w, uri, set, ro := preconnectDecision(c.args)
		if got := (want{w, uri, set, ro}); got != c.want {
			t.Errorf("%q (env %v): got %+v, want %+v", c.args, c.env, got, c.want)
		}
		for k := range c.env {
			t.Setenv(k, "")
		}
	}
}

// FuzzPreconnectDecision feeds earlyinit.c's command-line reader (C code that
// runs on every virtsh command line before Go does) arbitrary words: it must
// not crash, and what it decides must hold up.
func FuzzPreconnectDecision(f *testing.F) {
	for _, s := range []string{
		"-c\x00test:///default\x00list", "__complete\x00start\x00", "--connect=\x00x", "-q\x00-c",
		"__completeNoDesc\x00-c\x00qemu:///system\x00dominfo\x00-", "-c\x00a:///\x00'x", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args := append([]string{"virtsh"}, strings.Split(s, "\x00")...)
		for _, a := range args {
			if strings.IndexByte(a, 0) >= 0 {
				return
			}
		}
		want, uri, set, _ := preconnectDecision(args)
		if !want {
			return
		}
		if set && (uri == "" || !strings.Contains(uri, ":///")) {
			t.Errorf("%q: early connection to a non-local URI %q", args, uri)
		}
		// Only -q and -c may come before the command: -r and the rest
		// change the connection or the mode.
		rest := args[1:]
		if rest[0] == "__complete" || rest[0] == "__completeNoDesc" {
			rest = rest[1:]
		}
		for len(rest) > 0 && strings.HasPrefix(rest[0], "-") {
			switch {
			case rest[0] == "-q" || rest[0] == "--quiet" || strings.HasPrefix(rest[0], "--connect="):
				rest = rest[1:]
			case rest[0] == "-c" || rest[0] == "--connect":
				rest = rest[2:]
			default:
				t.Fatalf("%q: early connection despite the global option %q", args, rest[0])
			}
		}
		if len(rest) == 0 || PreconnectSkips(rest[0]) {
			t.Errorf("%q: early connection with no command that needs one", args)
		}
	})
}
