package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
	"libvirt.org/go/libvirt"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell/spec"
)

// The interactive console (virsh's virsh-console.c): the guest's character
// device through a non-blocking libvirt stream, the terminal in raw mode,
// everything driven by libvirt's event loop as in virsh: the stream, stdin
// and stdout are watches on that loop, so every callback runs on its one
// thread, and the command only waits for the end.

func newConsoleCmd(env *Env) *spec.Command {
	var o struct {
		dom, devname string
		force, safe  bool
	}
	c := &spec.Command{Short: "connect to the guest console", Long: "Connect the virtual serial console for the guest"}
	c.Example = "console vm1\nconsole vm1 serial1 --force\nvirtsh -e '^T' console vm1"
	c.Domain(&o.dom, "active")
	c.String(&o.devname, "devname", "character device name", spec.Unwanted, false).Complete(spec.Nothing)
	c.Bool(&o.force, "force", "force console connection (disconnect already connected sessions)")
	c.Bool(&o.safe, "safe", "only connect if safe console handling is supported")
	c.Run = env.onDomain(&o.dom, func(ctx context.Context, d *libvirt.Domain) error {
		flags := flagsOf([]flagIf[libvirt.DomainConsoleFlags]{{o.force, libvirt.DOMAIN_CONSOLE_FORCE}, {o.safe, libvirt.DOMAIN_CONSOLE_SAFE}})
		return runConsole(ctx, env, d, o.devname, flags)
	})
	return c
}

// escapeSequence is the -e value in effect: virsh's default is ^].
func escapeSequence(env *Env) string {
	if e := env.Sess.Opts.Escape; e != "" {
		return e
	}
	return "^]"
}

// escapeByte is the byte the sequence stands for (virshGetEscapeChar):
// "^X" is Ctrl-X, anything else its first character. -e was checked by
// validEscape.
func escapeByte(seq string) byte {
	if seq[0] == '^' {
		c := seq[1]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		return c ^ 0x40
	}
	return seq[0]
}

// runConsole is virsh's cmdRunConsole: the checks and banner, then the
// console until the escape key, the guest's end or an error. console,
// start --console and create --console all come here.
func runConsole(ctx context.Context, env *Env, d *libvirt.Domain, devname string, flags libvirt.DomainConsoleFlags) error {
	state, _, err := d.GetState()
	if err != nil {
		return errors.New("Unable to get domain status")
	}
	if state == libvirt.DOMAIN_SHUTOFF {
		return errors.New("The domain is not running")
	}
	in, ok := env.IO.In.(*os.File)
	if !ok || !format.IsTerminal(in) {
		return errors.New("Cannot run interactive console without a controlling TTY")
	}
	name, _ := d.GetName()
	seq := escapeSequence(env)
	env.IO.Extra("Connected to domain '%s'\n", name)
	env.IO.Extra("Escape character is %s", seq)
	if seq[0] == '^' {
		env.IO.Extra(" (Ctrl + %c)", seq[1])
	}
	env.IO.Extra("\n")

	restore, err := makeRaw(int(in.Fd()))
	if err != nil {
		return err
	}
	// The terminal goes back as it was however the console ends: the
	// escape, the guest going away, an error, a signal (the runner cancels
	// ctx), or a panic unwinding through here.
	defer restore()

	conn, err := env.Sess.Conn()
	if err != nil {
		return err
	}
	st, err := conn.NewStream(libvirt.STREAM_NONBLOCK)
	if err != nil {
		return err
	}
	con := &console{st: st, escape: escapeByte(seq), done: make(chan struct{}), inWatch: -1, outWatch: -1}
	defer func() { _ = st.Free() }()
	if err := d.OpenConsole(devname, st, flags); err != nil {
		_ = st.Abort()
		return err
	}
	env.Sess.StartEventLoop() // the watches below are served by it
	if err := con.watch(int(in.Fd()), env.IO.Out); err != nil {
		con.shutdown(false, err)
		return err
	}
	select {
	case <-con.done:
	case <-ctx.Done():
		// A signal (SIGINT, SIGTERM, SIGHUP): virsh ignores them until the
		// escape key; virtsh ends the console, with the terminal restored,
		// and the runner does what it does after any command a signal
		// ended (SIGTERM and SIGHUP end virtsh).
		con.shutdown(false, nil)
	}
	con.mu.Lock()
	defer con.mu.Unlock()
	return con.err
}

// makeRaw is vshTTYMakeRaw: cfmakeraw on the terminal, pending input
// flushed (TCSAFLUSH); the function returned is vshTTYRestore.
func makeRaw(fd int) (restore func(), err error) {
	saved, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, fmt.Errorf("unable to get tty attributes: %s", errnoText(err))
	}
	raw := *saved
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Oflag &^= unix.OPOST
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETSF, &raw); err != nil {
		return nil, fmt.Errorf("unable to set tty attributes: %s", errnoText(err))
	}
	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETSF, saved) }, nil
}

// console is one console session (virsh's virConsole). Its callbacks run on
// the event loop thread; shutdown may also come from the command's own
// goroutine (a signal), hence the lock.
type console struct {
	mu     sync.Mutex
	st     *libvirt.Stream
	escape byte
	quit   bool
	err    error // why it ended, nil for the escape key or the guest's end
	done   chan struct{}

	inFd, outFd       int
	out               io.Writer // stdout when it is no file (written at once)
	inWatch, outWatch int
	toTerm, toStream  []byte
}

// watch registers stdin, stdout and the stream on the event loop.
func (c *console) watch(inFd int, out io.Writer) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inFd = inFd
	if f, ok := out.(*os.File); ok {
		c.outFd = int(f.Fd())
		w, err := libvirt.EventAddHandle(c.outFd, 0, c.onStdout)
		if err != nil {
			return err
		}
		c.outWatch = w
	} else {
		c.out = out
	}
	w, err := libvirt.EventAddHandle(inFd, libvirt.EVENT_HANDLE_READABLE, c.onStdin)
	if err != nil {
		return err
	}
	c.inWatch = w
	return c.st.EventAddCallback(libvirt.STREAM_EVENT_READABLE, c.onStream)
}

// shutdown is virConsoleShutdown: the stream finished (graceful: the escape
// key, the guest's end) or aborted, the watches removed, the waiter woken.
// The first reason given is kept.
func (c *console) shutdown(graceful bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.shutdownLocked(graceful, err)
}

func (c *console) shutdownLocked(graceful bool, err error) {
	if c.quit {
		return
	}
	c.quit = true
	c.err = err
	_ = c.st.EventRemoveCallback()
	if graceful {
		_ = c.st.Finish()
	} else {
		_ = c.st.Abort()
	}
	for _, w := range []*int{&c.inWatch, &c.outWatch} {
		if *w >= 0 {
			_ = libvirt.EventRemoveHandle(*w)
			*w = -1
		}
	}
	close(c.done)
}

// onStream moves what the guest wrote towards the terminal and what was
// typed into the stream.
func (c *console) onStream(_ *libvirt.Stream, events libvirt.StreamEventType) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.quit {
		return // a late event after the end
	}
	if events&libvirt.STREAM_EVENT_READABLE != 0 {
		buf := make([]byte, 1024)
		n, err := c.st.Recv(buf)
		switch {
		case n == -2:
			return // nothing after all
		case errors.Is(err, io.EOF):
			c.shutdownLocked(true, nil) // the guest's side closed: it went away
			return
		case err != nil:
			c.shutdownLocked(false, err)
			return
		}
		if c.out != nil {
			if _, err := c.out.Write(buf[:n]); err != nil {
				c.shutdownLocked(false, fmt.Errorf("cannot write to stdout: %v", err))
				return
			}
		} else {
			c.toTerm = append(c.toTerm, buf[:n]...)
			libvirt.EventUpdateHandle(c.outWatch, libvirt.EVENT_HANDLE_WRITABLE)
		}
	}
	if events&libvirt.STREAM_EVENT_WRITABLE != 0 && len(c.toStream) > 0 {
		n, err := c.st.Send(c.toStream)
		if n == -2 {
			return
		}
		if err != nil {
			c.shutdownLocked(false, err)
			return
		}
		c.toStream = c.toStream[n:]
	}
	if len(c.toStream) == 0 {
		_ = c.st.EventUpdateCallback(libvirt.STREAM_EVENT_READABLE)
	}
	if events&(libvirt.STREAM_EVENT_ERROR|libvirt.STREAM_EVENT_HANGUP) != 0 {
		c.shutdownLocked(false, nil)
	}
}

// onStdin reads what was typed. A read that starts with the escape byte
// ends the console, as in virsh (which looks at the first byte of each
// read: one key press is one read).
func (c *console) onStdin(_ int, fd int, events libvirt.EventHandleType) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.quit {
		return
	}
	if events&libvirt.EVENT_HANDLE_READABLE != 0 {
		buf := make([]byte, 1024)
		n, err := unix.Read(fd, buf)
		switch {
		case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
			return
		case err != nil:
			c.shutdownLocked(false, fmt.Errorf("cannot read from stdin: %s", errnoText(err)))
			return
		case n == 0:
			c.shutdownLocked(false, errors.New("internal error: EOF on stdin"))
			return
		case buf[0] == c.escape:
			c.shutdownLocked(true, nil)
			return
		}
		c.toStream = append(c.toStream, buf[:n]...)
		_ = c.st.EventUpdateCallback(libvirt.STREAM_EVENT_READABLE | libvirt.STREAM_EVENT_WRITABLE)
	}
	c.endOnTrouble(events, "IO error on stdin", "EOF on stdin")
}

// onStdout writes the guest's output once the terminal takes it.
func (c *console) onStdout(_ int, fd int, events libvirt.EventHandleType) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.quit {
		return
	}
	if events&libvirt.EVENT_HANDLE_WRITABLE != 0 && len(c.toTerm) > 0 {
		n, err := unix.Write(fd, c.toTerm)
		switch {
		case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
			return
		case err != nil:
			c.shutdownLocked(false, fmt.Errorf("cannot write to stdout: %s", errnoText(err)))
			return
		}
		c.toTerm = c.toTerm[n:]
	}
	if len(c.toTerm) == 0 {
		libvirt.EventUpdateHandle(c.outWatch, 0)
	}
	c.endOnTrouble(events, "IO error stdout", "EOF on stdout")
}

// endOnTrouble ends the console on an error or a hangup of stdin or stdout,
// with virsh's words for each.
func (c *console) endOnTrouble(events libvirt.EventHandleType, ioError, eof string) {
	switch {
	case events&libvirt.EVENT_HANDLE_ERROR != 0:
		c.shutdownLocked(false, errors.New("internal error: "+ioError))
	case events&libvirt.EVENT_HANDLE_HANGUP != 0:
		c.shutdownLocked(false, errors.New("internal error: "+eof))
	}
}
