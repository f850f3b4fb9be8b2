package cmd

import (
	"testing"
)

// The hotplug and media commands on libvirt's test driver, compared byte
// for byte (stdout, stderr, exit status) with the real virsh running the
// same command string: every --print-xml document, and every bad input
// that fails before the hypervisor is asked. The test driver cannot
// hotplug; what it says then is compared too (the error lines).

// TestAttachDiskPrintXMLSameAsVirsh: attach-disk builds the same <disk> as
// virsh for many option combinations, before any domain lookup (a domain
// that does not exist is fine), on a read-only connection too.
func TestAttachDiskPrintXMLSameAsVirsh(t *testing.T) {
	for _, opts := range []string{
		"/a.qcow2 vdb",
		"'' vdb",
		"'' vdb --sourcetype block",
		"'' vdb --driver qemu --subdriver qcow2 --iothread 1 --cache none --io native --type cdrom --mode readonly " +
			"--wwn 0x5000c50015ea71ad --alias ua-x --rawio --address pci:0.0.a.0 --multifunction --targetbus virtio",
		"x vdb virtio qemu", // bare words fill --targetbus, --driver (virsh 9.0)
		"x vdb --shareable",
		"/dev/null sdb --address scsi:1.2.3 --mode shareable", // a char device is a file
		"/dev/loop0 vdb",               // a block device
		"/dev/loop0 vdb --driver file", // ... not with --driver file
		"img hda --address ide:1.0.1 --sourcetype block",
		"nbdimg vdx --source-protocol nbd --source-host-name host:10809 --sourcetype network",
		"nbdimg vdx --source-protocol nbd --source-host-transport unix --source-host-socket /s",
		"nbd vdb --source-protocol nbd --source-host-name h",
		"nbd vdb --source-protocol nbd --source-host-name h:",
		"'' vdb --sourcetype network --source-protocol rbd",
		"x vdx --address ccw:fe.0.1",
		"x sdx --address usb:1.2",
		"x sdx --address sata:1.2.3",
		"x vdb --address pci:0.0.0.0.7",
		"x vdb --address pci:0x10.0.0.0",
		"x vdb --address 'pci: 1.2.3.4'",
		"x vdb --address pci:+1.2.3.4",
		"x vdb --address pci:1.2.3.4x",
		"x xvdb --address pci:1.2.3.4",
		"x hdb --address ide:1.2.3",
		"x vdb --iothread abc",
		"x vdb --serial abc --wwn 1234567890abcdef --alias ua-1",
		`"/a b'c\"d<e>&" vdx`,
	} {
		sameAsVirsh(t, nil, "-c", "test:///default", "attach-disk nosuch "+opts+" --print-xml")
		sameAsVirsh(t, nil, "-r", "-q", "-c", "test:///default", "attach-disk test "+opts+" --print-xml")
	}
}

// TestAttachDiskBadInputSameAsVirsh: every check attach-disk makes before
// the hypervisor is asked gives virsh's message and exit status.
func TestAttachDiskBadInputSameAsVirsh(t *testing.T) {
	for _, opts := range []string{
		"--mode foo", "--sourcetype foo", "--sourcetype ''", "--serial ''", "--wwn 123", "--wwn 0x123456789012345g",
		"--address pci:1", "--address pci:", "--address pci:0.0.0", "--address pci:-1.0.0.0", "--address pci:100000000.0.0.0",
		"--address pci:0x.0.0.0", "--address foo:1.2", "--address ccw:1.2", "--address usb:1", "--address scsi:1.2.99999999999",
		"--address scsi:1.2.3", "--address ide:1.2.3", "--sourcetype network", "--source-protocol nbd --sourcetype file",
		"--source-host-name h", "--source-host-socket /s --source-protocol nbd",
		"--source-host-socket /s --source-host-name h --source-protocol nbd --source-host-transport unix",
		"--current --live", "--persistent --current", "--current --config",
	} {
		sameAsVirsh(t, nil, "-c", "test:///default", "attach-disk test x vdb --print-xml "+opts)
	}
	for _, line := range []string{"attach-disk test x hdb --address scsi:1.2.3", "attach-disk test x sdb --address pci:1.2.3.4",
		"attach-disk test x vdb extra1 extra2 extra3", "attach-disk test", "attach-disk nosuch x vdb",
		"attach-disk test /nonexistent.qcow2 vdb --live"} {
		sameAsVirsh(t, nil, "-c", "test:///default", line)
	}
}

// TestDiskNodeCommandsSameAsVirsh: detach-disk and change-media take the
// <disk> from libvirt's XML (live or inactive) and print or send it as virsh
// does, whitespace and all; their bad input gets virsh's messages.
func TestDiskNodeCommandsSameAsVirsh(t *testing.T) {
	uri := nodeURI(t, readTestdata("media-node.xml"))
	for _, line := range []string{
		"change-media media hdc --eject --print-xml", "change-media media hdc /x.iso --update --print-xml",
		"change-media media hdd /x.iso --insert --print-xml", "change-media media hdd /x.iso --print-xml",
		"change-media media hdc /dev/sr0 --update --block --print-xml", "change-media media fda --eject --print-xml",
		"change-media media fda /dev/fd1 --update --block --print-xml", "change-media media fda /x.img --update --print-xml",
		"change-media media hdd /dev/sr0 --insert --block --print-xml", "change-media media /guest/a.iso --eject --print-xml",
		"change-media media hdc --update --print-xml", // --update without a source ejects
		"change-media media hdc x --config --print-xml", "-q change-media media hdc --eject --print-xml",
		"change-media media vda --eject --print-xml", "change-media media hdd --eject --print-xml",
		"change-media media hdc /y --insert --print-xml", "change-media media hdc --insert --print-xml",
		"change-media media hdc --eject --block", "change-media media hdc --eject --insert", "change-media media hdc --insert --update",
		"change-media media hdc --source '' --current --live", "change-media media hdc x --current --live",
		"change-media media hdc x --current --config --print-xml", "change-media nosuch hdc --eject",
		"change-media media hdc --eject", "change-media media hdc /x --update --live --config --force",
		"detach-disk media vda --print-xml", "detach-disk media /guest/d1 --print-xml", "detach-disk media /guest/base --print-xml",
		"detach-disk media hdc --print-xml --config", "detach-disk media /dev/fd0 --print-xml --persistent",
		"-q detach-disk media vda --print-xml", "detach-disk media vdz", "detach-disk media vda", "detach-disk media vda --persistent",
		"detach-disk media vda --current --live", "detach-disk media vda --persistent --current",
	} {
		sameAsVirsh(t, nil, "-c", uri, line)
	}
	// --print-xml changes nothing, so a read-only connection allows it.
	for _, line := range []string{"detach-disk media vda --print-xml", "change-media media hdc --eject --print-xml"} {
		sameAsVirsh(t, nil, "-r", "-c", uri, line)
	}
	// Without it libvirt refuses the change, and virtsh says what virsh says.
	for _, line := range []string{"detach-disk media vda", "change-media media hdc --eject", "detach-disk media vdz"} {
		sameAsVirsh(t, nil, "-r", "-c", uri, line)
	}
}

// TestDeviceFileCommandsSameAsVirsh: attach-device, detach-device,
// update-device and detach-device-alias read their file and check their
// options as virsh does.
func TestDeviceFileCommandsSameAsVirsh(t *testing.T) {
	uri := nodeURI(t, readTestdata("media-node.xml"))
	for _, cmd := range []string{"attach-device", "detach-device", "update-device"} {
		for _, rest := range []string{"/etc/hostname", "/nonexistent.xml", "/etc/hostname --current", "/etc/hostname --persistent",
			"/etc/hostname --live --config", "/etc/hostname --current --live", "/etc/hostname --persistent --current",
			"/etc/hostname --current --config", "", "/etc/hostname extra"} {
			sameAsVirsh(t, nil, "-c", uri, cmd+" media "+rest)
		}
		sameAsVirsh(t, nil, "-c", uri, cmd+" nosuch /etc/hostname")
	}
	sameAsVirsh(t, nil, "-c", uri, "update-device media /etc/hostname --force")
	sameAsVirsh(t, nil, "-c", uri, "attach-device media /etc/hostname --force")
	for _, rest := range []string{"ua-data", "ua-data --live", "ua-data --current --live", "ua-data --persistent", "", "ua-data extra"} {
		sameAsVirsh(t, nil, "-c", uri, "detach-device-alias media "+rest)
	}
}

// TestHotplugCompletion: change-media offers the cdroms and floppies,
// detach-disk every disk, detach-device-alias every device alias.
func TestHotplugCompletion(t *testing.T) {
	uri := nodeURI(t, readTestdata("media-node.xml"))
	for _, tc := range []struct {
		line []string
		want string
	}{
		{[]string{"change-media", "media", ""}, "hdc\nhdd\nfda\n:4\n"},
		{[]string{"detach-disk", "media", ""}, "vda\nhdc\nhdd\nfda\n:4\n"},
		{[]string{"detach-device-alias", "media", ""}, "ua-data\nua-net\n:4\n"},
		{[]string{"detach-device-alias", "--domain", "media", "--alias", "ua-n"}, "ua-net\n:4\n"},
		{[]string{"attach-disk", "media", "/x", "vdc", "--cache", "write"}, "writethrough\nwriteback\n:4\n"},
		{[]string{"attach-disk", "media", "/x", "vdc", "--subdriver", "qc"}, "qcow\nqcow2\n:4\n"},
	} {
		out, errS, code := runMain(t, "", append([]string{"__completeNoDesc", "-c", uri}, tc.line...)...)
		if out != tc.want || errS != "" || code != 0 {
			t.Errorf("complete %q: %q %q %d, want %q", tc.line, out, errS, code, tc.want)
		}
	}
}
