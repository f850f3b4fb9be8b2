package format

import (
	"bytes"
	"sync"
	"testing"
)

// hostRun is what one host's command printed into its capture.
func hostRun(t *testing.T, output string, print func(io *IO)) *HostCapture {
	t.Helper()
	c := &HostCapture{}
	print(&IO{Out: c, Output: output})
	return c
}

func TestWriteHostsTable(t *testing.T) {
	list := func(rows ...[]string) func(*IO) {
		return func(io *IO) { _ = Table(io.Out, io.Quiet, []string{"Id", "Name", "State"}, rows) }
	}
	var out bytes.Buffer
	caps := []*HostCapture{
		hostRun(t, "table", list([]string{"1", "vm1", "running"})),
		nil, // failed: printed nothing
		hostRun(t, "table", list([]string{"-", "longer-name", "shut off"}, []string{"2", "x", "paused"})),
		hostRun(t, "table", list()),
	}
	if err := WriteHosts(&IO{Out: &out, Output: "table"}, []string{"local", "lab2", "lab3", "lab4"}, caps); err != nil {
		t.Fatal(err)
	}
	want := " Host    Id   Name          State\n" +
		"--------------------------------------\n" +
		" local   1    vm1           running\n" +
		" lab3    -    longer-name   shut off\n" +
		" lab3    2    x             paused\n"
	if out.String() != want {
		t.Fatalf("got\n%q\nwant\n%q", out.String(), want)
	}
}

func TestWriteHostsText(t *testing.T) {
	var out bytes.Buffer
	caps := []*HostCapture{
		hostRun(t, "table", func(io *IO) { io.Printf("Id:     1\nName:   vm1\n") }),
		hostRun(t, "table", func(io *IO) { io.Printf("running\n") }),
	}
	if err := WriteHosts(&IO{Out: &out, Output: "table"}, []string{"local", "h2"}, caps); err != nil {
		t.Fatal(err)
	}
	want := "local  Id:     1\nlocal  Name:   vm1\nh2     running\n"
	if out.String() != want {
		t.Fatalf("got\n%q\nwant\n%q", out.String(), want)
	}
}

func TestWriteHostsJSON(t *testing.T) {
	type view struct {
		Name  string `json:"name" yaml:"name"`
		State string `json:"state" yaml:"state"`
	}
	caps := []*HostCapture{
		hostRun(t, "json", func(io *IO) { _ = io.Encode([]view{{"a<b", "running"}}) }),
		hostRun(t, "json", func(io *IO) { _ = io.Encode(view{"c", "paused"}) }),
		hostRun(t, "json", func(io *IO) { _ = io.Encode("plain") }),
	}
	var out bytes.Buffer
	if err := WriteHosts(&IO{Out: &out, Output: "json"}, []string{"h1", "h2", "h3"}, caps); err != nil {
		t.Fatal(err)
	}
	want := `[
  {
    "host": "h1",
    "name": "a<b",
    "state": "running"
  },
  {
    "host": "h2",
    "name": "c",
    "state": "paused"
  },
  {
    "host": "h3",
    "value": "plain"
  }
]
`
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
	out.Reset()
	if err := WriteHosts(&IO{Out: &out, Output: "yaml"}, []string{"h1", "h2", "h3"}, caps[:2]); err != nil {
		t.Fatal(err)
	}
	wantYAML := "- host: h1\n  name: a<b\n  state: running\n- host: h2\n  name: c\n  state: paused\n"
	if out.String() != wantYAML {
		t.Fatalf("yaml: got\n%s\nwant\n%s", out.String(), wantYAML)
	}
	out.Reset()
	if err := WriteHosts(&IO{Out: &out, Output: "json"}, []string{"h1"}, []*HostCapture{nil}); err != nil || out.String() != "[]\n" {
		t.Fatalf("no values: %q %v", out.String(), err)
	}
}

func TestHostLinesPrefixesEachLine(t *testing.T) {
	var out bytes.Buffer
	var mu sync.Mutex
	a := &HostLines{Host: "h1", Out: &out, Mu: &mu}
	j := &HostLines{Host: "h2", Out: &out, Mu: &mu, JSON: true}
	_, _ = a.Write([]byte("event 'lifecycle' for domain 'vm1': Started Booted\nevents "))
	_, _ = j.Write([]byte(`{"event":"lifecycle"}` + "\n"))
	_, _ = a.Write([]byte("received: 1\n"))
	want := "h1: event 'lifecycle' for domain 'vm1': Started Booted\n" + `{"host":"h2","event":"lifecycle"}` + "\nh1: events received: 1\n"
	if out.String() != want {
		t.Fatalf("got\n%q\nwant\n%q", out.String(), want)
	}
}
