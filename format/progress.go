package format

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Progress draws a long job's progress on stderr. On a terminal it is a live
// bar (percent, bytes done of total, rate, ETA). Anywhere else it writes
// exactly what virsh 9.0's virshPrintJobProgress writes, "\r<label>: [ 45 %]",
// so scripts that parse virsh's stderr keep working.
type Progress struct {
	w       io.Writer
	label   string
	tty     bool
	bar     *progressbar.ProgressBar
	cur     uint64
	end     uint64
	printed bool
	done    bool
}

// NewProgress starts a progress display on w labelled as virsh labels block
// jobs ("Block commit", "Block Copy", "Block Pull"). A bar is used only when
// w is a terminal and tty is not forced off.
func NewProgress(w io.Writer, label string) *Progress {
	return newProgress(w, label, IsTerminal(w))
}

func newProgress(w io.Writer, label string, tty bool) *Progress {
	return &Progress{w: w, label: label, tty: tty}
}

// newBar is made on the first update, when the job's size is known (the
// library cannot start from a size of 0).
func (p *Progress) newBar(end uint64) {
	p.bar = progressbar.NewOptions64(int64(max(end, 1)),
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(p.label),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionUseIECUnits(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
	)
}

// VirshPercent is virsh 9.0's integer percent: 100 only when nothing
// remains, otherwise truncated and held at 99.
func VirshPercent(cur, end uint64) int {
	if cur >= end {
		return 100
	}
	pct := int(100.0 - float64(end-cur)*100.0/float64(end))
	if pct >= 100 {
		pct = 99
	}
	return pct
}

// VirshProgressLine is one progress update as virsh 9.0 prints it.
func VirshProgressLine(label string, cur, end uint64) string {
	return fmt.Sprintf("\r%s: [%3d %%]", label, VirshPercent(cur, end))
}

// Update reports the job's position. As virsh does, nothing is drawn until
// the position first changes from 0 of 0, nor when it has not changed.
func (p *Progress) Update(cur, end uint64) {
	if p.done || (cur == p.cur && end == p.end) {
		return
	}
	p.cur, p.end = cur, end
	p.draw(cur, end)
}

func (p *Progress) draw(cur, end uint64) {
	p.printed = true
	if !p.tty {
		_, _ = io.WriteString(p.w, VirshProgressLine(p.label, cur, end))
		return
	}
	if p.bar == nil {
		p.newBar(end)
	}
	// An active commit's or a copy's end grows while the guest writes.
	if int64(end) != p.bar.GetMax64() {
		p.bar.ChangeMax64(int64(end))
	}
	_ = p.bar.Set64(int64(min(cur, end)))
}

// Complete draws 100 % (virsh prints it when a job completes or is ready).
func (p *Progress) Complete() {
	if p.done {
		return
	}
	if !p.tty {
		_, _ = io.WriteString(p.w, VirshProgressLine(p.label, 0, 0))
	} else {
		end := max(p.end, p.cur, 1)
		if p.bar == nil {
			p.newBar(end)
		}
		p.bar.ChangeMax64(int64(end))
		_ = p.bar.Finish() // renders despite the throttle
	}
	p.printed = true
	p.done = true
}

// Close ends the display. A terminal bar gets its line ended so later output
// starts clean; virsh's text form is left as virsh leaves it (the caller's
// "\nCommit complete" ends the line).
func (p *Progress) Close() {
	p.done = true
	if p.bar != nil && p.printed {
		_ = p.bar.Exit()
		_, _ = io.WriteString(p.w, "\n")
	}
}
