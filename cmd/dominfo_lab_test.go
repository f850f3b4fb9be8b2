//go:build lab

package cmd

import "testing"

// TestLabDominfoMatchesVirsh: dominfo asks its queries concurrently; on real
// QEMU guests (a running persistent one with autostart, a transient one, a
// shut-off one) and several in one command string, virtsh prints what virsh
// prints, security model and label included.
func TestLabDominfoMatchesVirsh(t *testing.T) {
	run := newLabGuest(t, labGuestOpts{Prefix: "dinfo", Start: true})
	if err := run.Dom.SetAutostart(true); err != nil {
		t.Fatal(err)
	}
	tr := newLabGuest(t, labGuestOpts{Prefix: "dinfo", Transient: true})
	off := newLabGuest(t, labGuestOpts{Prefix: "dinfo"})
	bin := virtshBinary(t)
	for _, c := range []string{"dominfo " + run.Name, "dominfo " + tr.Name, "dominfo " + off.Name,
		"dominfo " + run.Name + "; dominfo " + tr.Name + "; dominfo " + off.Name + "; dominfo " + run.Name,
		"dominfo vt-dinfo-nosuch; dominfo " + tr.Name} {
		for _, q := range [][]string{nil, {"-q"}} {
			args := append(append([]string{"-c", labURI()}, q...), c)
			vo, ve, vc := runBinary(t, "", nil, "/usr/bin/virsh", args...)
			to, te, tc := runBinary(t, "", nil, bin, args...)
			if maskCPUTime(vo) != maskCPUTime(to) || ve != te || vc != tc {
				t.Errorf("%q:\nvirsh  (%q, %q, %d)\nvirtsh (%q, %q, %d)", args, vo, ve, vc, to, te, tc)
			}
		}
	}
}
