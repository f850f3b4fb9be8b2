package cmd

import (
	"os"
	"testing"
)

// Domain words are read as virsh reads them (virStrToLong_i for an ID): a
// leading space or sign still makes an ID, a trailing space or a negative
// number does not, and each command leaves out the ways virsh leaves out.
func TestDomainLookupMatchesVirsh(t *testing.T) {
	const virsh = "/usr/bin/virsh"
	if _, err := os.Stat(virsh); err != nil {
		t.Fatalf("virsh is needed for this test (Debian package libvirt-clients): %v", err)
	}
	bin := virtshBinary(t)
	for _, c := range [][]string{{"dominfo", " 1"}, {"dominfo", "+1"}, {"dominfo", "01"}, {"dominfo", "1 "}, {"dominfo", "-0"},
		{"domname", "+1"}, {"domuuid", " 1"}, {"domid", "1"}, {"domid", "test"}, {"domname", "test"}, {"domstate", "2147483648"}} {
		args := append([]string{"-c", "test:///default"}, c...)
		vo, ve, vc := runBinary(t, "", nil, virsh, args...)
		to, te, tc := runBinary(t, "", nil, bin, args...)
		if maskCPUTime(vo) != maskCPUTime(to) || ve != te || vc != tc {
			t.Errorf("%q:\nvirsh  (%q, %q, %d)\nvirtsh (%q, %q, %d)", args, vo, ve, vc, to, te, tc)
		}
	}
}
