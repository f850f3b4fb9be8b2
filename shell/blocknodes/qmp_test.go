package blocknodes

import "testing"

// TestAliasFromQdev: the device names query-blockstats gives, for each bus.
func TestAliasFromQdev(t *testing.T) {
	for qdev, want := range map[string]string{
		"/machine/peripheral/virtio-disk0/virtio-backend": "virtio-disk0",
		"/machine/peripheral/ua-mydisk/virtio-backend":    "ua-mydisk",
		"sata0-0-0":                  "sata0-0-0",
		"ide0-0-0":                   "ide0-0-0",
		"scsi0-0-0-0":                "scsi0-0-0-0",
		"/machine/unattached/device": "",
		"":                           "",
	} {
		if got := aliasFromQdev(qdev); got != want {
			t.Errorf("aliasFromQdev(%q) = %q, want %q", qdev, got, want)
		}
	}
}
