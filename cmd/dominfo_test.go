package cmd

import (
	"errors"
	"strings"
	"testing"

	"libvirt.org/go/libvirt"

	"github.com/virtsh/virtsh/shell"
)

// dominfoOK is a shut-off guest of a host with a security model, every
// query answered.
func dominfoOK() *dominfoAnswers {
	return &dominfoAnswers{
		name: "g", uuid: "11111111-2222-3333-4444-000000000001", osType: "hvm",
		info:       &libvirt.DomainInfo{State: libvirt.DOMAIN_SHUTOFF, MaxMem: 65536, Memory: 65536, NrVirtCpu: 1},
		persistent: true, autostart: true,
		model: &libvirt.NodeSecurityModel{Model: "apparmor", Doi: "0"},
		label: &libvirt.SecurityLabel{},
		msgs:  []string{"tainted: a", "tainted: b"},
	}
}

var (
	errNoDomain  = libvirt.Error{Code: libvirt.ERR_NO_DOMAIN, Message: "Domain not found"}
	errNoSupport = libvirt.Error{Code: libvirt.ERR_NO_SUPPORT, Message: "this function is not supported by the connection driver"}
	errInternal  = libvirt.Error{Code: libvirt.ERR_INTERNAL_ERROR, Message: "internal error: label"}
)

// dominfoLines puts the concurrently asked answers in cmdDominfo's order and
// fails the way cmdDominfo does: which lines a failed query drops or turns
// into "unknown", where virsh stops, and which error it reports.
func TestDominfoLinesFollowVirsh(t *testing.T) {
	head := "Id:             -\nName:           g\nUUID:           11111111-2222-3333-4444-000000000001\nOS Type:        hvm\n"
	info := "State:          shut off\nCPU(s):         1\nMax memory:     65536 KiB\nUsed memory:    65536 KiB\n"
	flags := "Persistent:     yes\nAutostart:      enable\nManaged save:   no\n"
	sec := "Security model: apparmor\nSecurity DOI:   0\n"
	msgs := "Messages:       tainted: a\n                tainted: b\n"
	cases := []struct {
		name    string
		change  func(a *dominfoAnswers)
		want    string
		wantErr error // nil: the command succeeds
	}{
		{"all answered", func(a *dominfoAnswers) {}, head + info + flags + sec + msgs, nil},
		{"running, labelled", func(a *dominfoAnswers) {
			a.id, a.active = 7, true
			a.info.State, a.info.CpuTime = libvirt.DOMAIN_RUNNING, 1_250_000_000
			a.label = &libvirt.SecurityLabel{Label: "libvirt-x", Enforcing: true}
		}, strings.Replace(head, "-", "7", 1) + strings.Replace(strings.Replace(info, "shut off", "running", 1),
			"CPU(s):         1\n", "CPU(s):         1\nCPU time:       1.2s\n", 1) + flags + sec +
			"Security label: libvirt-x (enforcing)\n" + msgs, nil},
		{"no limit, transient, no autostart answer, managed save unknown", func(a *dominfoAnswers) {
			a.info.MaxMem = uint64(^uint32(0))
			a.persistent = false
			a.autoErr = errNoSupport
			a.managedErr = errNoSupport
		}, head + strings.Replace(info, "65536 KiB\nUsed", "no limit\nUsed", 1) +
			"Persistent:     no\nManaged save:   unknown\n" + sec + msgs, nil},
		{"no security model", func(a *dominfoAnswers) { a.model = &libvirt.NodeSecurityModel{} },
			head + info + flags + msgs, nil},
		{"driver without messages", func(a *dominfoAnswers) { a.msgs, a.msgsErr = nil, errNoSupport },
			head + info + flags + sec, nil},
		// virsh's error handler keeps the latest error: the messages' one,
		// raised after GetInfo's.
		{"GetInfo fails", func(a *dominfoAnswers) {
			a.info, a.infoErr = nil, errNoDomain
			a.persErr, a.msgs, a.msgsErr = errNoDomain, nil, errNoSupport
		}, head + "Persistent:     unknown\nAutostart:      enable\nManaged save:   no\n" + sec, errNoSupport},
		{"security model fails: no messages", func(a *dominfoAnswers) { a.model, a.modelErr = nil, errInternal },
			head + info + flags, errInternal},
		{"label fails: no messages", func(a *dominfoAnswers) { a.label, a.labelErr = nil, errInternal },
			head + info + flags + sec, errInternal},
		{"no model support clears the errors before it", func(a *dominfoAnswers) {
			a.model, a.modelErr = nil, errNoSupport
			a.info, a.infoErr = nil, errNoDomain
		}, head + flags + msgs, shell.ErrSilent},
	}
	for _, c := range cases {
		a := dominfoOK()
		c.change(a)
		_, lines, err := dominfoLines(a)
		if got := strings.Join(lines, "\n") + "\n"; got != c.want {
			t.Errorf("%s: lines\n%s\nwant\n%s", c.name, got, c.want)
		}
		if !errors.Is(err, c.wantErr) || (err == nil) != (c.wantErr == nil) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.wantErr)
		}
	}
}
