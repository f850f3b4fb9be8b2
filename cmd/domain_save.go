package cmd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"libvirt.org/go/libvirt"

	"github.com/virtsh/virtsh/shell/spec"
)

// Saving a domain's state (virsh-domain.c, "Domain Management"): save,
// restore, managedsave, managedsave-remove, managedsave-dumpxml and
// save-image-dumpxml.
//
// save and managedsave are one synchronous libvirt call each, which runs a
// domain job ("Save") for as long as the guest's memory takes to write. virsh
// makes the call on a thread of its own and follows the job meanwhile
// (virshWatchJob): --verbose draws its progress from virDomainGetJobInfo
// every 500 ms, and Ctrl-C aborts it with virDomainAbortJob, after which the
// call fails ("operation aborted: job 'domain save' canceled by client"),
// libvirt removes the file it was writing and the guest runs on. virtsh does
// the same in watchDomainJob, with the block jobs' display and beat
// (jobPolls) and the runner's SIGINT, which cancels ctx. virsh 9.0 reads its
// Ctrl-C from the terminal (it turns ISIG off) and ignores a SIGINT sent by
// another process; virtsh aborts on either.

// saveFlags are the flags the save commands share.
func saveFlags(bypass, running, paused bool) libvirt.DomainSaveRestoreFlags {
	return flagsOf([]flagIf[libvirt.DomainSaveRestoreFlags]{{bypass, libvirt.DOMAIN_SAVE_BYPASS_CACHE},
		{running, libvirt.DOMAIN_SAVE_RUNNING}, {paused, libvirt.DOMAIN_SAVE_PAUSED}})
}

// xmlFileOpt declares --xml FILE, the updated domain XML of save, restore
// (and virsh's *-define): a string option after the data options, so that
// virsh 9.0 also fills it with a bare word.
func xmlFileOpt(c *spec.Command, p *string) {
	c.String(p, "xml", "filename containing updated XML for the target", spec.Unwanted, false).Complete(spec.File)
}

// readOptionalXML reads --xml FILE when it was given (virsh's messages).
func readOptionalXML(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	return readXMLFile(path)
}

func newSaveCmd(env *Env) *spec.Command {
	var o struct {
		dom, file, xml                   string
		bypass, running, paused, verbose bool
	}
	c := &spec.Command{Short: "save a domain state to a file", Long: "Save the RAM state of a running domain."}
	c.Example = "save vm1 /var/lib/libvirt/save/vm1.save\n" +
		"save vm1 vm1.save --paused --verbose          # restore it paused; Ctrl-C aborts the save\n" +
		"save vm1 vm1.save --xml vm1-updated.xml"
	c.Domain(&o.dom, "active")
	c.String(&o.file, "file", "where to save the data", spec.Req, true).Complete(spec.File)
	c.Bool(&o.bypass, "bypass-cache", "avoid file system cache when saving")
	xmlFileOpt(c, &o.xml)
	c.Bool(&o.running, "running", "set domain to be running on restore")
	c.Bool(&o.paused, "paused", "set domain to be paused on restore")
	c.Bool(&o.verbose, "verbose", "display the progress of save")
	c.Run = func(ctx context.Context) error {
		// The lookup starts the event loop and the signal relay first, so
		// that a Ctrl-C during the save reaches ctx (see lookupJobDomain).
		d, err := lookupJobDomain(env, o.dom, true)
		if err != nil {
			return err
		}
		defer d.Free()
		xml, err := readOptionalXML(o.xml)
		if err != nil {
			return err
		}
		flags := saveFlags(o.bypass, o.running, o.paused)
		err = watchDomainJob(ctx, env, d, "Save", o.verbose, func() error {
			if flags != 0 || xml != "" {
				return d.SaveFlags(o.file, xml, flags)
			}
			return d.Save(o.file)
		})
		if err != nil {
			return msgThenCause(fmt.Sprintf("Failed to save domain '%s' to %s", o.dom, o.file), err)
		}
		env.IO.Extra("\nDomain '%s' saved to %s\n", o.dom, o.file)
		return nil
	}
	return c
}

func newRestoreCmd(env *Env) *spec.Command {
	var o struct {
		file, xml                      string
		bypass, running, paused, nvram bool
	}
	c := &spec.Command{Short: "restore a domain from a saved state in a file", Long: "Restore a domain."}
	c.Example = "restore /var/lib/libvirt/save/vm1.save\nrestore vm1.save --paused\nrestore vm1.save --xml vm1-updated.xml"
	c.String(&o.file, "file", "the state to restore", spec.Req, true).Complete(spec.File)
	c.Bool(&o.bypass, "bypass-cache", "avoid file system cache when restoring")
	xmlFileOpt(c, &o.xml)
	c.Bool(&o.running, "running", "restore domain into running state")
	c.Bool(&o.paused, "paused", "restore domain into paused state")
	c.Bool(&o.nvram, "reset-nvram", "re-initialize NVRAM from its pristine template")
	c.Run = func(ctx context.Context) error {
		conn, err := env.Sess.Conn()
		if err != nil {
			return err
		}
		xml, err := readOptionalXML(o.xml)
		if err != nil {
			return err
		}
		flags := saveFlags(o.bypass, o.running, o.paused)
		if o.nvram {
			flags |= libvirt.DOMAIN_SAVE_RESET_NVRAM
		}
		if flags != 0 || xml != "" {
			err = conn.DomainRestoreFlags(o.file, xml, flags)
		} else {
			err = conn.DomainRestore(o.file)
		}
		if err != nil {
			return msgThenCause(fmt.Sprintf("Failed to restore domain from %s", o.file), err)
		}
		env.IO.Extra("Domain restored from %s\n", o.file)
		return nil
	}
	return c
}

func newManagedSaveCmd(env *Env) *spec.Command {
	var o struct {
		dom                              string
		bypass, running, paused, verbose bool
	}
	c := &spec.Command{
		Short: "managed save of a domain state",
		Long: "Save and destroy a running domain, so it can be restarted from\n" +
			"the same state at a later time.  When the virsh 'start'\n" +
			"command is next run for the domain, it will automatically\n" +
			"be started from this saved state.",
	}
	c.Example = "managedsave vm1\nmanagedsave vm1 --paused --verbose    # 'start vm1' resumes it paused\nmanagedsave-remove vm1"
	c.Domain(&o.dom, "active")
	c.Bool(&o.bypass, "bypass-cache", "avoid file system cache when saving")
	c.Bool(&o.running, "running", "set domain to be running on next start")
	c.Bool(&o.paused, "paused", "set domain to be paused on next start")
	c.Bool(&o.verbose, "verbose", "display the progress of save")
	c.Run = func(ctx context.Context) error {
		d, err := lookupJobDomain(env, o.dom, true)
		if err != nil {
			return err
		}
		defer d.Free()
		flags := saveFlags(o.bypass, o.running, o.paused)
		if err := watchDomainJob(ctx, env, d, "Managedsave", o.verbose, func() error { return d.ManagedSave(flags) }); err != nil {
			return msgThenCause(fmt.Sprintf("Failed to save domain '%s' state", o.dom), err)
		}
		env.IO.Extra("\nDomain '%s' state saved by libvirt\n", o.dom)
		return nil
	}
	return c
}

func newManagedSaveRemoveCmd(env *Env) *spec.Command {
	var dom string
	c := &spec.Command{Short: "Remove managed save of a domain", Long: "Remove an existing managed save state file from a domain"}
	c.Example = "managedsave-remove vm1"
	c.Domain(&dom, "managedsave")
	c.Run = env.onDomain(&dom, func(ctx context.Context, d *libvirt.Domain) error {
		has, err := d.HasManagedSaveImage(0)
		if err != nil {
			return msgThenCause("Failed to check for domain managed save image", err)
		}
		if !has {
			env.IO.Extra("Domain '%s' has no manage save image; removal skipped", dom)
			return nil
		}
		if err := d.ManagedSaveRemove(0); err != nil {
			return msgThenCause(fmt.Sprintf("Failed to remove managed save image for domain '%s'", dom), err)
		}
		env.IO.Extra("Removed managedsave image for domain '%s'", dom)
		return nil
	})
	return c
}

func newManagedSaveDumpXMLCmd(env *Env) *spec.Command {
	var dom string
	var secure bool
	var x xmlDump
	c := &spec.Command{Short: "Domain information of managed save state file in XML",
		Long: "Dump XML of domain information for a managed save state file to stdout."}
	c.Example = "managedsave-dumpxml vm1\nmanagedsave-dumpxml vm1 --xpath //disk/source/@file"
	c.Domain(&dom, "managedsave")
	c.Bool(&secure, "security-info", "include security sensitive information in XML dump")
	x.declare(c, env)
	c.Run = env.onDomain(&dom, func(ctx context.Context, d *libvirt.Domain) error {
		if err := x.check(c); err != nil {
			return err
		}
		doc, err := d.ManagedSaveGetXMLDesc(saveImageXMLFlags(secure))
		if err != nil {
			return err
		}
		return x.print(c, env, doc)
	})
	return c
}

func newSaveImageDumpXMLCmd(env *Env) *spec.Command {
	var file string
	var secure bool
	var x xmlDump
	c := &spec.Command{Short: "saved state domain information in XML",
		Long: "Dump XML of domain information for a saved state file to stdout."}
	c.Example = "save-image-dumpxml vm1.save\nsave-image-dumpxml vm1.save --xpath //name"
	c.String(&file, "file", "saved state file to read", spec.Req, true).Complete(spec.File)
	c.Bool(&secure, "security-info", "include security sensitive information in XML dump")
	x.declare(c, env)
	c.Run = func(ctx context.Context) error {
		conn, err := env.Sess.Conn()
		if err != nil {
			return err
		}
		if err := x.check(c); err != nil {
			return err
		}
		doc, err := conn.DomainSaveImageGetXMLDesc(file, saveImageXMLFlags(secure))
		if err != nil {
			return err
		}
		return x.print(c, env, doc)
	}
	return c
}

func saveImageXMLFlags(secure bool) libvirt.DomainSaveImageXMLFlags {
	if secure {
		return libvirt.DOMAIN_SAVE_IMAGE_XML_SECURE
	}
	return 0
}

// domainJob is what watchDomainJob asks of the domain (*libvirt.Domain).
type domainJob interface {
	AbortJob() error
	GetJobInfo() (*libvirt.DomainJobInfo, error)
}

// abortRetry is how soon a Ctrl-C that came before libvirt had begun the
// job is tried again.
const abortRetry = 50 * time.Millisecond

// watchDomainJob makes call, a synchronous libvirt call that runs a domain
// job on d (save, managedsave), and follows the job until call returns, as
// virshWatchJob does: with verbose, the job's position is drawn under label;
// a cancelled ctx (Ctrl-C) aborts the job, and the wait goes on until call
// returns with libvirt's verdict, so nothing is left running when virtsh
// says what happened. A Ctrl-C before libvirt has begun the job (virsh's
// abort then fails and is forgotten) is tried again until the job can be
// aborted or call returns. On success the display ends at 100 %.
func watchDomainJob(ctx context.Context, env *Env, d domainJob, label string, verbose bool, call func() error) error {
	return watchDomainJobTimeout(ctx, env, d, label, verbose, jobHooks{}, call)
}

// jobHooks are what a watched job does besides being followed: once it
// has run for after (0: never), action — virsh's timeout_func of
// virshWatchJob: migrate --timeout suspends the guest or switches to
// post-copy, and the job goes on; started, when set, once a poll first sees
// the job moving data (for a migration: QEMU's part has begun, after
// libvirt set its parameters), polled for even without a display.
type jobHooks struct {
	after   time.Duration
	action  func()
	started func()
}

// watchDomainJobTimeout is watchDomainJob with hooks.
func watchDomainJobTimeout(ctx context.Context, env *Env, d domainJob, label string, verbose bool, to jobHooks, call func() error) error {
	done := make(chan error, 1)
	go func() { done <- call() }()
	jp := newJobPolls(env, label, verbose, to.started != nil, false)
	defer jp.stop()
	cancelled := ctx.Done()
	var retry, deadline <-chan time.Time
	if to.after > 0 {
		t := time.NewTimer(to.after)
		defer t.Stop()
		deadline = t.C
	}
	abort := func() {
		retry = nil
		err := d.AbortJob()
		var le libvirt.Error
		if errors.As(err, &le) && le.Code == libvirt.ERR_OPERATION_INVALID {
			retry = time.After(abortRetry) // no job yet
		}
	}
	for {
		select {
		case err := <-done:
			if err == nil && jp.prog != nil {
				jp.prog.Complete()
			}
			return err
		case <-cancelled:
			cancelled = nil
			abort()
		case <-retry:
			abort()
		case <-deadline:
			deadline = nil
			to.action()
		case <-jp.C:
			info, err := d.GetJobInfo()
			if err == nil && to.started != nil && info.DataTotal > 0 {
				to.started()
				to.started = nil
			}
			if err == nil && info.DataTotal > 0 && jp.prog != nil {
				jp.prog.Update(info.DataTotal-min(info.DataRemaining, info.DataTotal), info.DataTotal)
			}
		}
	}
}
