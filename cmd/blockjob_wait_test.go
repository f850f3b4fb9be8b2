package cmd

import (
	"testing"

	"libvirt.org/go/libvirt"
)

// TestFallbackStatus is virsh's polling fallback for a daemon that refused
// the block-job event registrations (virshBlockJobWait's polls).
func TestFallbackStatus(t *testing.T) {
	type poll struct {
		gone     bool
		cur, end uint64
		want     jobStatus
	}
	for _, c := range []struct {
		name   string
		failed int
		polls  []poll
	}{
		{"events registered: never from polls", 0, []poll{{true, 0, 0, statusNone}, {false, 10, 10, statusNone}}},
		{"job gone: completed", 1, []poll{{false, 5, 10, statusNone}, {true, 0, 0, libvirt.DOMAIN_BLOCK_JOB_COMPLETED}}},
		{"no events at all: ready at 100% at once", 2, []poll{{false, 5, 10, statusNone}, {false, 10, 10, libvirt.DOMAIN_BLOCK_JOB_READY}}},
		{"one event left: ready after 5 polls at 100%", 1, []poll{
			{false, 10, 10, statusNone}, {false, 10, 10, statusNone}, {false, 10, 10, statusNone},
			{false, 9, 10, statusNone}, // back below 100 %: the count restarts
			{false, 10, 10, statusNone}, {false, 10, 10, statusNone}, {false, 10, 10, statusNone},
			{false, 10, 10, statusNone}, {false, 10, 10, libvirt.DOMAIN_BLOCK_JOB_READY}}},
	} {
		n := 0
		for i, p := range c.polls {
			if got := fallbackStatus(c.failed, p.gone, p.cur, p.end, &n); got != p.want {
				t.Errorf("%s: poll %d = %v, want %v", c.name, i+1, got, p.want)
			}
		}
	}
}
