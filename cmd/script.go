package cmd

import (
	"bufio"
	"io"
	"sync"
)

// scriptLines reads a script's lines on a goroutine of its own, so that the
// runner can tell a script that waits for its next line (a program feeding
// virtsh over time) from one whose lines are all there.
//
// The lines go through a queue, not a channel: a channel handed each line
// from the reader to the runner, which woke the reader (and with it a second
// thread, runtime.wakep) once per line, for nothing: the reader had the next
// lines in its buffer already. Here the reader fills the queue up to
// maxQueued lines and is woken again only when the runner has taken it down
// to lowQueued, and the runner is woken only when it waits for a line.
type scriptLines struct {
	mu      sync.Mutex
	lines   []string
	head    int
	eof     bool
	err     error
	closed  bool          // the runner stopped reading (quit)
	waiting bool          // the runner waits on ready
	ready   chan struct{} // capacity 1: a line (or the end) arrived for a waiting runner
	room    *sync.Cond    // the reader waits here while the queue is full
}

const (
	maxQueued = 4096
	lowQueued = 1024
)

func newScriptLines(in io.Reader) *scriptLines {
	q := &scriptLines{ready: make(chan struct{}, 1)}
	q.room = sync.NewCond(&q.mu)
	go q.read(in)
	return q
}

func (q *scriptLines) read(in io.Reader) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for sc.Scan() {
		if !q.put(sc.Text()) {
			return
		}
	}
	q.mu.Lock()
	q.eof, q.err = true, sc.Err()
	q.wake()
	q.mu.Unlock()
}

// put queues a line; false when the runner stopped reading.
func (q *scriptLines) put(line string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.lines)-q.head >= maxQueued && !q.closed {
		q.room.Wait()
	}
	if q.closed {
		return false
	}
	if q.head > 0 && q.head == len(q.lines) {
		q.lines, q.head = q.lines[:0], 0
	}
	q.lines = append(q.lines, line)
	q.wake()
	return true
}

// wake tells a waiting runner that something arrived; q.mu is held.
func (q *scriptLines) wake() {
	if q.waiting {
		q.waiting = false
		select {
		case q.ready <- struct{}{}:
		default:
		}
	}
}

// take returns the next line without waiting: ok is false when there is
// none yet (done is then false) or the script ended (done true, with the
// read error, if any).
func (q *scriptLines) take() (line string, ok, done bool, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head < len(q.lines) {
		line = q.lines[q.head]
		q.lines[q.head] = ""
		q.head++
		if len(q.lines)-q.head == lowQueued {
			q.room.Signal()
		}
		return line, true, false, nil
	}
	if q.eof {
		return "", false, true, q.err
	}
	q.waiting = true
	return "", false, false, nil
}

// close stops the reader at its next line.
func (q *scriptLines) close() {
	q.mu.Lock()
	q.closed = true
	q.room.Signal()
	q.mu.Unlock()
}
