package format

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"
)

// Progress draws a long job's progress on stderr. On a terminal it is a live
// bar (percent, bytes done of total, rate, elapsed and remaining time).
// Anywhere else it writes exactly what virsh 9.0's virshPrintJobProgress
// writes, "\r<label>: [ 45 %]", so scripts that parse virsh's stderr keep
// working.
type Progress struct {
	w       io.Writer
	label   string
	tty     bool
	cur     uint64
	end     uint64
	printed bool
	done    bool

	// The terminal bar, made on the first update. mpb draws from its own
	// goroutines; Complete and Close wait for them, so nothing reaches w after
	// Complete or Close has returned.
	pool  *mpb.Progress
	bar   *mpb.Bar
	start chan any // closed once the bar holds the job's first position
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

// barRefresh throttles drawing: the bar is redrawn at most this often,
// whatever the rate of updates.
const barRefresh = 100 * time.Millisecond

// newBar starts the bar at position cur of end, e.g.
//
//	Block commit  45% |█████████████                 | (1.4/3.0 MiB, 1.0 MiB/s) [1s:2s]
//
// The bar is made with no total, which keeps mpb from ending it by itself
// when cur reaches the total it was made with: an active commit's or a
// copy's end grows while the guest writes, so only Complete (or Close) ends
// it. The total shown is set with SetTotal, and nothing is drawn until it is.
func (p *Progress) newBar(cur, end uint64) {
	start := time.Now()
	p.start = make(chan any)
	p.pool = mpb.New(
		mpb.WithConsoleWriter(newTermWriter(p.w)),
		mpb.WithRefreshRate(barRefresh),
		mpb.WithRenderDelay(p.start),
	)
	p.bar = p.pool.New(0,
		mpb.BarStyle().Lbound("|").Filler("█").Tip("█").Padding(" ").Rbound("|"),
		mpb.BarWidth(30),
		mpb.PrependDecorators(
			decor.Name(p.label),
			decor.Any(func(s decor.Statistics) string {
				return fmt.Sprintf(" %3d%%", barPercent(s))
			}),
		),
		// Padded, so that the bar keeps its width as the numbers change.
		mpb.AppendDecorators(decor.Any(func(s decor.Statistics) string {
			return barStats(s, cur, time.Since(start))
		}, decor.WC{W: 32, C: decor.DindentRight})),
	)
}

// barPercent is virsh's percent (held at 99 until the job is done), except
// that a bar not yet given its size shows 0.
func barPercent(s decor.Statistics) int {
	if s.Total <= 0 && !s.Completed {
		return 0
	}
	return VirshPercent(uint64(max(s.Current, 0)), uint64(max(s.Total, 0)))
}

// barStats is the bar's right-hand part as progressbar/v3 drew it:
// "(1.4/3.0 MiB, 1.0 MiB/s) [1s:2s]" (done/total, rate, elapsed:remaining).
// The rate counts from the position the bar started at (cur0), so a job
// followed from the middle is not credited with what it did before.
func barStats(s decor.Statistics, cur0 uint64, elapsed time.Duration) string {
	cur, total := uint64(max(s.Current, 0)), uint64(max(s.Total, 0))
	rate := 0.0
	if secs := elapsed.Seconds(); secs > 0 {
		rate = float64(max(cur, cur0)-cur0) / secs
	}
	eta := "?"
	if s.Completed || cur >= total {
		eta = "0s"
	} else if rate > 0 {
		eta = durationText(time.Duration(math.Ceil(float64(total-cur)/rate)) * time.Second)
	}
	return fmt.Sprintf("(%s, %s/s) [%s:%s]", bytesOf(cur, total), iecBytes(uint64(rate)),
		durationText(elapsed), eta)
}

// bytesOf is "1.4/3.0 MiB" when both counts have the same unit, else
// "0 B/3.0 MiB".
func bytesOf(cur, total uint64) string {
	c, t := iecBytes(cur), iecBytes(total)
	if ci, ti := strings.LastIndexByte(c, ' '), strings.LastIndexByte(t, ' '); c[ci:] == t[ti:] {
		return c[:ci] + "/" + t
	}
	return c + "/" + t
}

// durationText is a whole-second duration: "0s", "59s", "1m5s", "2h0m3s".
func durationText(d time.Duration) string {
	return d.Truncate(time.Second).String()
}

// iecBytes is a byte count in IEC units with one decimal: "512 B",
// "1.5 KiB", "3.0 MiB".
func iecBytes(n uint64) string {
	if n < 1024 {
		return strconv.FormatUint(n, 10) + " B"
	}
	v := float64(n)
	unit := -1
	for v >= 1024 && unit < 5 {
		v /= 1024
		unit++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + "KMGTPE"[unit:unit+1] + "iB"
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
	first := p.bar == nil
	if first {
		p.newBar(cur, end)
	}
	// Neither call waits for a redraw: mpb draws on its own beat.
	p.bar.SetTotal(int64(end), false)
	p.bar.SetCurrent(int64(min(cur, end)))
	if first {
		close(p.start)
	}
}

// Complete draws 100 % (virsh prints it when a job completes or is ready).
// On a terminal the bar's last frame is drawn before Complete returns.
func (p *Progress) Complete() {
	if p.done {
		return
	}
	if !p.tty {
		_, _ = io.WriteString(p.w, VirshProgressLine(p.label, 0, 0))
	} else {
		end := max(p.end, p.cur, 1)
		if p.bar == nil {
			p.newBar(0, end)
			close(p.start)
		}
		p.bar.SetTotal(int64(end), true) // completes the bar: its last frame
		p.pool.Wait()
	}
	p.printed = true
	p.done = true
}

// Close ends the display. A terminal bar still running (the job was aborted,
// failed or lost) is stopped where it is; its last frame ends with a newline,
// so later output starts on a fresh line. When Close returns, mpb's
// goroutines are gone and nothing more is written. virsh's text form is left
// as virsh leaves it (the caller's "\nCommit complete" ends the line).
func (p *Progress) Close() {
	if p.bar != nil && !p.done {
		p.bar.Abort(false)
		p.pool.Wait()
	}
	p.done = true
}

// termWriter is the bar's console: mpb draws each frame into its buffer and
// Flush writes the frame with one Write, then queues the cursor-up and
// erase-below that make the next frame overwrite it. After the last frame
// the cursor is left at the start of the line below the bar.
type termWriter struct {
	bytes.Buffer
	out io.Writer
}

func newTermWriter(out io.Writer) *termWriter { return &termWriter{out: out} }

// IsTerminal is true: a Progress makes a bar only for a terminal (or a test
// that says so).
func (w *termWriter) IsTerminal() bool { return true }

// GetTermSize is the terminal's size, or 80x24 when the writer is not a
// terminal or reports no size (a pty nobody sized reports 0x0, and mpb
// would then draw nothing).
func (w *termWriter) GetTermSize() (width, height int, err error) {
	if f, ok := w.out.(*os.File); ok {
		if cols, rows, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 && rows > 0 {
			return cols, rows, nil
		}
	}
	return 80, 24, nil
}

func (w *termWriter) Flush(lines int) error {
	if _, err := w.WriteTo(w.out); err != nil {
		return err
	}
	if lines > 0 {
		fmt.Fprintf(&w.Buffer, "\x1b[%dA\x1b[J", lines)
	}
	return nil
}
