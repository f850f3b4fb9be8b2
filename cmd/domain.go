package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"libvirt.org/go/libvirt"

	"github.com/virtsh/virtsh/shell/domain"
	"github.com/virtsh/virtsh/shell/spec"
)

// The "Domain Management" group (virsh-domain.c): lifecycle, define/undefine,
// autostart, ID/name/UUID conversions. dumpxml and edit are in domain_xml.go.

// setDomainHelp replaces the help text of the <domain> option where virsh
// words it differently (start, domid, domname, domuuid).
func setDomainHelp(c *spec.Command, usage string) { c.Lookup("domain").Help = usage }

// Ways to look a domain up (virsh's VIRSH_BYID, VIRSH_BYUUID, VIRSH_BYNAME).
const (
	byID   = domain.ByID
	byUUID = domain.ByUUID
	byName = domain.ByName
)

// readXMLFile reads a definition file as virsh's virFileReadAll does (at
// most 10 MiB), with its messages.
func readXMLFile(path string) (string, error) {
	const maxXML = 10 << 20
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("Failed to open file '%s': %s", path, errnoText(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxXML+1))
	if err != nil {
		return "", fmt.Errorf("Failed to read file '%s': %s", path, errnoText(err))
	}
	if len(b) > maxXML {
		return "", fmt.Errorf("Failed to read file '%s': %s", path, "Argument list too long")
	}
	return string(b), nil
}

// errnoText is strerror's wording ("No such file or directory").
func errnoText(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		return capitalize(en.Error())
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return capitalize(pe.Err.Error())
	}
	return err.Error()
}

// ---- define, create, undefine ----

func newDefineCmd(env *Env) *spec.Command {
	var file string
	var validate bool
	c := &spec.Command{Short: "define (but don't start) a domain from an XML file", Long: "Define a domain."}
	c.Example = "define vm1.xml\ndefine --validate vm1.xml"
	f := c.String(&file, "file", "file containing an XML domain description", spec.Req, true)
	f.Complete(spec.File)
	c.Bool(&validate, "validate", "validate the XML against the schema")
	c.Run = func(ctx context.Context) error {
		conn, err := env.Sess.Conn()
		if err != nil {
			return err
		}
		xml, err := readXMLFile(file)
		if err != nil {
			return err
		}
		var flags libvirt.DomainDefineFlags
		if validate {
			flags |= libvirt.DOMAIN_DEFINE_VALIDATE
		}
		var d *libvirt.Domain
		if flags != 0 {
			d, err = conn.DomainDefineXMLFlags(xml, flags)
		} else {
			d, err = conn.DomainDefineXML(xml)
		}
		if err != nil {
			return msgThenCause(fmt.Sprintf("Failed to define domain from %s", file), err)
		}
		defer d.Free()
		name, _ := d.GetName()
		env.IO.Extra("Domain '%s' defined from %s\n", name, file)
		return nil
	}
	return c
}

// parsePassFds reads --pass-fds N,M,... (virshFetchPassFdsList).
func parsePassFds(list string) ([]os.File, error) {
	var files []os.File
	for _, w := range strings.Split(list, ",") {
		fd, err := strconv.ParseInt(w, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("Unable to parse FD number '%s'", w)
		}
		files = append(files, *os.NewFile(uintptr(fd), "fd"+w))
	}
	return files, nil
}

func newCreateCmd(env *Env) *spec.Command {
	var o struct {
		file, passFds                                  string
		console, paused, autodestroy, validate, resetN bool
	}
	c := &spec.Command{Short: "create a domain from an XML file", Long: "Create a domain."}
	c.Example = "create vm1.xml\ncreate vm1.xml --paused"
	f := c.String(&o.file, "file", "file containing an XML domain description", spec.Req, true)
	f.Complete(spec.File)
	c.Bool(&o.console, "console", "attach to console after creation")
	c.Bool(&o.paused, "paused", "leave the guest paused after creation")
	c.Bool(&o.autodestroy, "autodestroy", "automatically destroy the guest when virsh disconnects")
	c.String(&o.passFds, "pass-fds", "pass file descriptors N,M,... to the guest", spec.Unwanted, false).Complete(spec.Nothing)
	c.Bool(&o.validate, "validate", "validate the XML against the schema")
	c.Bool(&o.resetN, "reset-nvram", "re-initialize NVRAM from its pristine template")
	c.Run = func(ctx context.Context) error {
		conn, err := env.Sess.Conn()
		if err != nil {
			return err
		}
		xml, err := readXMLFile(o.file)
		if err != nil {
			return err
		}
		var files []os.File
		if o.passFds != "" {
			if files, err = parsePassFds(o.passFds); err != nil {
				return err
			}
		}
		flags := flagsOf([]flagIf[libvirt.DomainCreateFlags]{{o.paused, libvirt.DOMAIN_START_PAUSED}, {o.autodestroy, libvirt.DOMAIN_START_AUTODESTROY},
			{o.validate, libvirt.DOMAIN_START_VALIDATE}, {o.resetN, libvirt.DOMAIN_START_RESET_NVRAM}})
		var d *libvirt.Domain
		if files != nil {
			d, err = conn.DomainCreateXMLWithFiles(xml, files, flags)
		} else {
			d, err = conn.DomainCreateXML(xml, flags)
		}
		if err != nil {
			return msgThenCause(fmt.Sprintf("Failed to create domain from %s", o.file), err)
		}
		defer d.Free()
		name, _ := d.GetName()
		env.IO.Extra("Domain '%s' created from %s\n", name, o.file)
		if o.console {
			return runConsole(ctx, env, d, "", 0)
		}
		return nil
	}
	return c
}

func newUndefineCmd(env *Env) *spec.Command {
	var o struct {
		dom, storage                                      string
		managed, removeAll, delSnaps, wipe, snaps, chkpts bool
		nvram, keepNvram, tpm, keepTpm                    bool
	}
	c := &spec.Command{Short: "undefine a domain", Long: "Undefine an inactive domain, or convert persistent to transient."}
	c.Example = "undefine vm1\nundefine vm1 --managed-save --snapshots-metadata --checkpoints-metadata --nvram"
	c.Domain(&o.dom, "persistent")
	c.Bool(&o.managed, "managed-save", "remove domain managed state file")
	c.String(&o.storage, "storage", "remove associated storage volumes (comma separated list of targets or source paths) (see domblklist)", spec.Unwanted, false).Complete(spec.DiskList)
	c.Bool(&o.removeAll, "remove-all-storage", "remove all associated storage volumes (use with caution)")
	c.Bool(&o.delSnaps, "delete-storage-volume-snapshots", "delete snapshots associated with volume(s), requires --remove-all-storage (must be supported by storage driver)")
	c.Bool(&o.wipe, "wipe-storage", "wipe data on the removed volumes")
	c.Bool(&o.snaps, "snapshots-metadata", "remove all domain snapshot metadata (vm must be inactive)")
	c.Bool(&o.chkpts, "checkpoints-metadata", "remove all domain checkpoint metadata (vm must be inactive)")
	c.Bool(&o.nvram, "nvram", "remove nvram file")
	c.Bool(&o.keepNvram, "keep-nvram", "keep nvram file")
	c.Bool(&o.tpm, "tpm", "remove TPM state")
	c.Bool(&o.keepTpm, "keep-tpm", "keep TPM state")
	c.Alias("delete-snapshots", "delete-storage-volume-snapshots")
	c.Requires("delete-storage-volume-snapshots", "remove-all-storage")
	c.Exclusive("nvram", "keep-nvram")
	c.Exclusive("tpm", "keep-tpm")
	c.Run = func(ctx context.Context) error {
		storage := c.Given("storage") || o.removeAll
		if o.wipe && !storage {
			return errors.New("'--wipe-storage' requires '--storage <string>' or '--remove-all-storage'")
		}
		d, err := env.lookupDomain(o.dom)
		if err != nil {
			return err
		}
		defer d.Free()
		st, err := undefineStateOf(d)
		if err != nil {
			return err
		}
		var vols []undefineVolume
		if storage {
			if vols, err = undefineVolumes(env, d, st.running, o.storage, c.Given("storage"), o.removeAll); err != nil {
				return err
			}
			defer func() {
				for _, v := range vols {
					_ = v.vol.Free()
				}
			}()
		}
		flags := flagsOf([]flagIf[libvirt.DomainUndefineFlagsValues]{{o.managed, libvirt.DOMAIN_UNDEFINE_MANAGED_SAVE}, {o.snaps, libvirt.DOMAIN_UNDEFINE_SNAPSHOTS_METADATA},
			{o.chkpts, libvirt.DOMAIN_UNDEFINE_CHECKPOINTS_METADATA}, {o.nvram, libvirt.DOMAIN_UNDEFINE_NVRAM},
			{o.keepNvram, libvirt.DOMAIN_UNDEFINE_KEEP_NVRAM}, {o.tpm, libvirt.DOMAIN_UNDEFINE_TPM},
			{o.keepTpm, libvirt.DOMAIN_UNDEFINE_KEEP_TPM}})
		// As virsh's cmdUndefine: ask only for what exists, so a driver
		// that does not know a flag is not bothered with it ...
		if !st.managedSave {
			flags &^= libvirt.DOMAIN_UNDEFINE_MANAGED_SAVE
		}
		if st.snapshotMeta == 0 {
			flags &^= libvirt.DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
		}
		if st.checkpoints == 0 {
			flags &^= libvirt.DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
		}
		// ... use the flags API when it cannot strand a managed save image
		// (or --nvram needs it), and where the server refuses a flag, undo
		// piecewise what the flags would have done (--keep-nvram and the
		// TPM flags then mean the driver keeps or has nothing).
		tryFlags := !st.managedSave || o.managed || o.nvram
		if tryFlags {
			err = d.UndefineFlags(flags)
		}
		if !tryFlags || err != nil && !o.nvram && isUnsupportedFlags(err) {
			err = undefinePiecewise(d, st, o.managed, o.snaps)
		}
		var refused refusal
		if errors.As(err, &refused) {
			return err
		}
		if err != nil {
			return msgThenCause(fmt.Sprintf("Failed to undefine domain '%s'", o.dom), err)
		}
		env.IO.Extra("Domain '%s' has been undefined\n", o.dom)
		return removeVolumes(env, vols, o.wipe, o.delSnaps)
	}
	return c
}

// undefineVolume is a storage volume undefine --storage/--remove-all-storage
// removes once the domain is gone: a disk's target and source name.
type undefineVolume struct {
	vol            *libvirt.StorageVol
	target, source string
}

// undefineVolumes finds the volumes to remove, as virsh's cmdUndefine does
// before it undefines anything: the disks named in list (targets or source
// names, comma-separated) or all of them, each looked up in its pool or by
// path; a disk libvirt does not manage is reported and kept, a name in list
// that no disk has fails the command.
func undefineVolumes(env *Env, d *libvirt.Domain, running bool, list string, given, all bool) ([]undefineVolume, error) {
	if running {
		return nil, errors.New("Storage volume deletion is supported only on stopped domains")
	}
	if given && all {
		return nil, errors.New("Specified both --storage and --remove-all-storage")
	}
	disks, err := domain.LiveDisks(d)
	if err != nil {
		return nil, msgThenCause("Could not retrieve domain XML description", err)
	}
	conn, err := env.Sess.Conn()
	if err != nil {
		return nil, err
	}
	var wanted []string
	if given {
		wanted = splitCommaList(list)
	}
	found := make([]bool, len(wanted))
	var vols []undefineVolume
	for _, disk := range disks {
		src := disk.Top()
		switch src.Kind {
		case domain.KindFile, domain.KindBlock, domain.KindDir, domain.KindNetwork, domain.KindVolume:
		default:
			continue
		}
		if src.Name == "" {
			continue
		}
		if given {
			hit := false
			for i, w := range wanted {
				if !found[i] && (w == disk.Target || w == src.Name) {
					found[i], hit = true, true
					break
				}
			}
			if !hit {
				continue
			}
		}
		var vol *libvirt.StorageVol
		if src.Pool != "" {
			pool, err := conn.LookupStoragePoolByName(src.Pool)
			if err != nil {
				env.IO.Errorf("error: Storage pool '%s' for volume '%s' not found.\n", src.Pool, disk.Target)
				continue
			}
			vol, err = pool.LookupStorageVolByName(src.Name)
			_ = pool.Free()
			if err != nil {
				vol = nil
			}
		} else if vol, err = conn.LookupStorageVolByPath(src.Name); err != nil {
			vol = nil
		}
		if vol == nil {
			env.IO.Errorf("error: Storage volume '%s'(%s) is not managed by libvirt. Remove it manually.\n\n", disk.Target, src.Name)
			continue
		}
		vols = append(vols, undefineVolume{vol: vol, target: disk.Target, source: src.Name})
	}
	var missing []error
	for i, w := range wanted {
		if !found[i] {
			missing = append(missing, fmt.Errorf("Volume '%s' was not found in domain's definition.\n", w))
		}
	}
	if len(missing) > 0 {
		for _, v := range vols {
			_ = v.vol.Free()
		}
		return nil, errors.Join(missing...)
	}
	return vols, nil
}

// removeVolumes wipes (if asked) and deletes the volumes of an undefined
// domain, saying what became of each as it goes, as virsh does; a failure
// fails the command (with libvirt's last error, as virsh reports it at the
// end) but the others are still removed.
func removeVolumes(env *Env, vols []undefineVolume, wipe, withSnapshots bool) error {
	var flags libvirt.StorageVolDeleteFlags
	if withSnapshots {
		flags |= libvirt.STORAGE_VOL_DELETE_WITH_SNAPSHOTS
	}
	var last error
	for _, v := range vols {
		if wipe {
			env.IO.Extra("Wiping volume '%s'(%s) ... ", v.target, v.source)
			if err := v.vol.Wipe(0); err != nil {
				env.IO.Errorf("error: Failed! Volume not removed.\n")
				last = err
				continue
			}
			env.IO.Extra("Done.\n")
		}
		if err := v.vol.Delete(flags); err != nil {
			env.IO.Errorf("error: Failed to remove storage volume '%s'(%s)\n", v.target, v.source)
			last = err
			continue
		}
		env.IO.Extra("Volume '%s'(%s) removed.\n", v.target, v.source)
	}
	return last
}

// undefineState is whether the domain runs and what a shut-off domain
// still holds that undefine would strand: virsh looks before it chooses
// between the flags API and doing it piecewise. A running domain holds none
// of it.
type undefineState struct {
	running      bool
	managedSave  bool
	snapshotMeta int
	checkpoints  int
}

func undefineStateOf(d *libvirt.Domain) (undefineState, error) {
	var st undefineState
	var err error
	if st.running, err = d.IsActive(); err != nil || st.running {
		return st, err
	}
	if st.managedSave, err = d.HasManagedSaveImage(0); err != nil && !isNoSupport(err) {
		return st, err
	}
	n, err := d.SnapshotNum(0)
	if err != nil && !isNoSupport(err) {
		return st, err
	}
	if n > 0 {
		if st.snapshotMeta, err = d.SnapshotNum(libvirt.DOMAIN_SNAPSHOT_LIST_METADATA); err != nil {
			st.snapshotMeta = n // an old server: assume all have metadata
		}
	}
	cps, err := d.ListAllCheckpoints(0)
	if err != nil && !isNoSupport(err) {
		return st, err
	}
	st.checkpoints = len(cps)
	for i := range cps {
		_ = cps[i].Free()
	}
	return st, nil
}

// undefinePiecewise is virsh's fallback when the flags API is refused:
// remove the managed save image if asked, refuse what it cannot emulate.
func undefinePiecewise(d *libvirt.Domain, st undefineState, managed, snaps bool) error {
	if st.managedSave {
		if !managed {
			return refusal{errors.New("Refusing to undefine while domain managed save image exists")}
		}
		if err := d.ManagedSaveRemove(0); err != nil {
			return refusal{err}
		}
	}
	if st.snapshotMeta > 0 {
		if snaps {
			return refusal{fmt.Errorf("Unable to remove metadata of %d snapshots", st.snapshotMeta)}
		}
		return refusal{fmt.Errorf("Refusing to undefine while %d snapshots exist", st.snapshotMeta)}
	}
	return d.Undefine()
}

// refusal is an error virsh prints alone, without "Failed to ...".
type refusal struct{ error }

func (r refusal) Unwrap() error { return r.error }

// ---- start ----

func newStartCmd(env *Env) *spec.Command {
	var o struct {
		dom, passFds                                              string
		console, paused, autodestroy, bypass, forceBoot, resetNvr bool
	}
	c := &spec.Command{Short: "start a (previously defined) inactive domain", Long: "Start a domain, either from the last managedsave\n    state, or via a fresh boot if no managedsave state\n    is present."}
	c.Example = "start vm1\nstart vm1 --paused\nstart vm1 --force-boot"
	c.Domain(&o.dom, "shutoff")
	setDomainHelp(c, "name of the inactive domain")
	c.Bool(&o.console, "console", "attach to console after creation")
	c.Bool(&o.paused, "paused", "leave the guest paused after creation")
	c.Bool(&o.autodestroy, "autodestroy", "automatically destroy the guest when virsh disconnects")
	c.Bool(&o.bypass, "bypass-cache", "avoid file system cache when loading")
	c.Bool(&o.forceBoot, "force-boot", "force fresh boot by discarding any managed save")
	c.String(&o.passFds, "pass-fds", "pass file descriptors N,M,... to the guest", spec.Unwanted, false).Complete(spec.Nothing)
	c.Bool(&o.resetNvr, "reset-nvram", "re-initialize NVRAM from its pristine template")
	c.Run = func(ctx context.Context) error {
		d, err := env.lookupDomainBy(o.dom, byName|byUUID)
		if err != nil {
			return err
		}
		defer d.Free()
		if _, active := domainID(d); active {
			return errors.New("Domain is already active")
		}
		var files []os.File
		if o.passFds != "" {
			if files, err = parsePassFds(o.passFds); err != nil {
				return err
			}
		}
		flags := flagsOf([]flagIf[libvirt.DomainCreateFlags]{{o.paused, libvirt.DOMAIN_START_PAUSED}, {o.autodestroy, libvirt.DOMAIN_START_AUTODESTROY},
			{o.bypass, libvirt.DOMAIN_START_BYPASS_CACHE}, {o.forceBoot, libvirt.DOMAIN_START_FORCE_BOOT},
			{o.resetNvr, libvirt.DOMAIN_START_RESET_NVRAM}})
		name, _ := d.GetName()
		create := func(f libvirt.DomainCreateFlags) error {
			switch {
			case files != nil:
				return d.CreateWithFiles(files, f)
			case f != 0:
				return d.CreateWithFlags(f)
			default:
				return d.Create()
			}
		}
		err = create(flags)
		if err != nil && flags&libvirt.DOMAIN_START_FORCE_BOOT != 0 && isUnsupportedFlags(err) {
			// Emulate --force-boot for servers that reject the flag, as
			// virsh does: drop the managed save image, then start.
			if has, herr := d.HasManagedSaveImage(0); herr != nil {
				return herr
			} else if has {
				if rerr := d.ManagedSaveRemove(0); rerr != nil {
					return rerr
				}
			}
			err = create(flags &^ libvirt.DOMAIN_START_FORCE_BOOT)
		}
		if err != nil {
			return msgThenCause(fmt.Sprintf("Failed to start domain '%s'", name), err)
		}
		env.IO.Extra("Domain '%s' started\n", name)
		if o.console {
			return runConsole(ctx, env, d, "", 0)
		}
		return nil
	}
	return c
}

// ---- shutdown, reboot ----

// parseModes reads --mode acpi,agent,... (cmdShutdown/cmdReboot).
func parseModes(mode string) (uint, error) {
	if mode == "" {
		return 0, nil
	}
	var flags uint
	for _, m := range strings.Split(mode, ",") {
		switch m {
		case "acpi":
			flags |= uint(libvirt.DOMAIN_SHUTDOWN_ACPI_POWER_BTN)
		case "agent":
			flags |= uint(libvirt.DOMAIN_SHUTDOWN_GUEST_AGENT)
		case "initctl":
			flags |= uint(libvirt.DOMAIN_SHUTDOWN_INITCTL)
		case "signal":
			flags |= uint(libvirt.DOMAIN_SHUTDOWN_SIGNAL)
		case "paravirt":
			flags |= uint(libvirt.DOMAIN_SHUTDOWN_PARAVIRT)
		default:
			return 0, fmt.Errorf("Unknown mode %s value, expecting 'acpi', 'agent', 'initctl', 'signal', or 'paravirt'", m)
		}
	}
	return flags, nil
}

func newShutdownCmd(env *Env) *spec.Command { return newShutdownLike(env, false) }
func newRebootCmd(env *Env) *spec.Command   { return newShutdownLike(env, true) }

func newShutdownLike(env *Env, reboot bool) *spec.Command {
	var dom, mode string
	var c *spec.Command
	if reboot {
		c = &spec.Command{Short: "reboot a domain", Long: "Run a reboot command in the target domain."}
		c.Example = "reboot vm1\nreboot vm1 --mode acpi,agent"
	} else {
		c = &spec.Command{Short: "gracefully shutdown a domain", Long: "Run shutdown in the target domain."}
		c.Example = "shutdown vm1\nshutdown vm1 --mode agent"
	}
	c.Domain(&dom, "active")
	f := c.String(&mode, "mode", "shutdown mode: acpi|agent|initctl|signal|paravirt", spec.Unwanted, false)
	f.Complete(spec.ShutdownMode)
	c.Run = func(ctx context.Context) error {
		flags, err := parseModes(mode)
		if err != nil {
			return err
		}
		d, err := env.lookupDomain(dom)
		if err != nil {
			return err
		}
		defer d.Free()
		if reboot {
			if err := d.Reboot(libvirt.DomainRebootFlagValues(flags)); err != nil {
				return msgThenCause(fmt.Sprintf("Failed to reboot domain '%s'", dom), err)
			}
			env.IO.Extra("Domain '%s' is being rebooted\n", dom)
			return nil
		}
		if flags != 0 {
			err = d.ShutdownFlags(libvirt.DomainShutdownFlags(flags))
		} else {
			err = d.Shutdown()
		}
		if err != nil {
			return msgThenCause(fmt.Sprintf("Failed to shutdown domain '%s'", dom), err)
		}
		env.IO.Extra("Domain '%s' is being shutdown\n", dom)
		return nil
	}
	return c
}

// ---- reset, destroy, suspend, resume ----

// simpleDomainCmd builds the commands that take a domain, call one API and
// print virsh's message with the word the user typed.
func simpleDomainCmd(env *Env, short, long, filter, example, okMsg, failMsg string, run func(*libvirt.Domain) error) *spec.Command {
	var dom string
	c := &spec.Command{Short: short, Long: long, Example: example}
	c.Domain(&dom, filter)
	c.Run = env.onDomain(&dom, func(ctx context.Context, d *libvirt.Domain) error {
		if err := run(d); err != nil {
			return msgThenCause(fmt.Sprintf(failMsg, dom), err)
		}
		env.IO.Extra(okMsg, dom)
		return nil
	})
	return c
}

func newResetCmd(env *Env) *spec.Command {
	return simpleDomainCmd(env, "reset a domain", "Reset the target domain as if by power button", "active",
		"reset vm1", "Domain '%s' was reset\n", "Failed to reset domain '%s'",
		func(d *libvirt.Domain) error { return d.Reset(0) })
}

func newSuspendCmd(env *Env) *spec.Command {
	return simpleDomainCmd(env, "suspend a domain", "Suspend a running domain.", "running",
		"suspend vm1", "Domain '%s' suspended\n", "Failed to suspend domain '%s'",
		func(d *libvirt.Domain) error { return d.Suspend() })
}

func newResumeCmd(env *Env) *spec.Command {
	return simpleDomainCmd(env, "resume a domain", "Resume a previously suspended domain.", "paused",
		"resume vm1", "Domain '%s' resumed\n", "Failed to resume domain '%s'",
		func(d *libvirt.Domain) error { return d.Resume() })
}

func newDestroyCmd(env *Env) *spec.Command {
	var dom string
	var graceful, removeLogs bool
	c := &spec.Command{Short: "destroy (stop) a domain", Long: "Forcefully stop a given domain, but leave its resources intact."}
	c.Example = "destroy vm1\ndestroy vm1 --graceful"
	c.Domain(&dom, "active")
	c.Bool(&graceful, "graceful", "terminate gracefully")
	c.Bool(&removeLogs, "remove-logs", "remove domain logs")
	c.Run = env.onDomain(&dom, func(ctx context.Context, d *libvirt.Domain) error {
		flags := flagsOf([]flagIf[libvirt.DomainDestroyFlags]{
			{graceful, libvirt.DOMAIN_DESTROY_GRACEFUL}, {removeLogs, libvirt.DOMAIN_DESTROY_REMOVE_LOGS},
		})
		var err error
		if flags != 0 {
			err = d.DestroyFlags(flags)
		} else {
			err = d.Destroy()
		}
		if err != nil {
			return msgThenCause(fmt.Sprintf("Failed to destroy domain '%s'", dom), err)
		}
		env.IO.Extra("Domain '%s' destroyed\n", dom)
		return nil
	})
	return c
}

// ---- autostart ----

func newAutostartCmd(env *Env) *spec.Command {
	var dom string
	var disable bool
	c := &spec.Command{Short: "autostart a domain", Long: "Configure a domain to be automatically started at boot."}
	c.Example = "autostart vm1\nautostart vm1 --disable"
	c.Domain(&dom, "persistent")
	c.Bool(&disable, "disable", "disable autostarting")
	c.Run = env.onDomain(&dom, func(ctx context.Context, d *libvirt.Domain) error {
		if err := d.SetAutostart(!disable); err != nil {
			if disable {
				return msgThenCause(fmt.Sprintf("Failed to unmark domain '%s' as autostarted", dom), err)
			}
			return msgThenCause(fmt.Sprintf("Failed to mark domain '%s' as autostarted", dom), err)
		}
		if disable {
			env.IO.Extra("Domain '%s' unmarked as autostarted\n", dom)
		} else {
			env.IO.Extra("Domain '%s' marked as autostarted\n", dom)
		}
		return nil
	})
	return c
}

// ---- domid, domname, domuuid ----

func newDomidCmd(env *Env) *spec.Command {
	var dom string
	c := &spec.Command{Short: "convert a domain name or UUID to domain id"}
	c.Example = "domid vm1"
	c.Domain(&dom, "active")
	setDomainHelp(c, "domain name or uuid")
	outputOption(c, env.IO)
	c.Run = func(ctx context.Context) error {
		d, err := env.lookupDomainBy(dom, byName|byUUID)
		if err != nil {
			return err
		}
		defer d.Free()
		id, active := domainID(d)
		if env.IO.Structured() {
			v := struct {
				ID *uint `json:"id" yaml:"id"`
			}{}
			if active {
				v.ID = &id
			}
			return env.IO.Encode(v)
		}
		env.IO.Printf("%s\n", idString(id, active))
		return nil
	}
	return c
}

func newDomnameCmd(env *Env) *spec.Command {
	var dom string
	c := &spec.Command{Short: "convert a domain id or UUID to domain name"}
	c.Example = "domname 3"
	c.Domain(&dom, "")
	c.Lookup("domain").Complete(spec.DomainUUID)
	setDomainHelp(c, "domain id or uuid")
	outputOption(c, env.IO)
	c.Run = func(ctx context.Context) error {
		d, err := env.lookupDomainBy(dom, byID|byUUID)
		if err != nil {
			return err
		}
		defer d.Free()
		name, err := d.GetName()
		if err != nil {
			return err
		}
		return printValue(env, "name", name, "%s\n")
	}
	return c
}

func newDomuuidCmd(env *Env) *spec.Command {
	var dom string
	c := &spec.Command{Short: "convert a domain name or id to domain UUID"}
	c.Example = "domuuid vm1"
	c.Domain(&dom, "")
	setDomainHelp(c, "domain id or name")
	outputOption(c, env.IO)
	c.Run = func(ctx context.Context) error {
		d, err := env.lookupDomainBy(dom, byID|byName)
		if err != nil {
			return err
		}
		defer d.Free()
		u, err := d.GetUUIDString()
		if err != nil {
			return msgThenCause("failed to get domain UUID", err)
		}
		return printValue(env, "uuid", u, "%s\n")
	}
	return c
}
