// Package cmd holds virtsh's commands: the static command table (this file),
// one file per virsh command group with each command's declaration and run
// function, the global options and modes (main.go, argv.go), help, and the
// cobra view of the table that completion scripts and man pages use.
package cmd

import (
	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell"
	"github.com/virtsh/virtsh/shell/fleet"
	"github.com/virtsh/virtsh/shell/spec"
)

// Group is one of virsh's command groups: its help keyword and title.
type Group struct {
	ID, Title string
}

// groups in virsh's order, with its titles and help keywords.
var groups = []Group{
	{"domain", "Domain Management"},
	{"monitor", "Domain Monitoring"},
	{"events", "Domain Events"},
	{"host", "Host and Hypervisor"},
	{"checkpoint", "Checkpoint"},
	{"snapshot", "Snapshot"},
	{"backup", "Backup"},
	{"repo", "Backup Repository"},
	{"virsh", "Virsh itself"},
	{"debug", "Debugging virtsh"},
}

// Policy flags of a command in the table.
type policy uint8

const (
	mutating  policy = 1 << iota // changes state: refused on a read-only session
	noConnect                    // never needs a connection
	// virshRO: a virsh command whose changes libvirt itself refuses on a
	// read-only connection ("read only access prevents virDomainSuspend"),
	// so on -r it runs as virsh runs it: lookups fail first, and the
	// refusal comes with the command's own "Failed to ..." line. Commands
	// of virtsh's own (which may touch local files first) are refused
	// before they run.
	virshRO
)

// entry is one row of the command table.
type entry struct {
	name   string
	group  string
	new    func(*Env) *spec.Command
	policy policy
}

// commands is the command table: every command virtsh has, by group in
// virsh's order. Adding a command is a row here plus its constructor in its
// group's file. It is filled by init because help and completion, commands
// of the table themselves, read it.
var commands []entry

// commandIndex maps a command name to its row.
var commandIndex map[string]*entry

func init() {
	commands = table()
	commandIndex = make(map[string]*entry, len(commands))
	for i := range commands {
		commandIndex[commands[i].name] = &commands[i]
	}
}

func table() []entry {
	return []entry{
		// Domain Management (virsh-domain.c)
		{"attach-device", "domain", newAttachDeviceCmd, mutating | virshRO},
		{"attach-disk", "domain", newAttachDiskCmd, mutating | virshRO},
		{"autostart", "domain", newAutostartCmd, mutating | virshRO},
		{"blockcommit", "domain", newBlockCommitCmd, mutating | virshRO},
		{"blockcopy", "domain", newBlockCopyCmd, mutating | virshRO},
		{"blockjob", "domain", newBlockJobCmd, virshRO},
		{"blockpull", "domain", newBlockPullCmd, mutating | virshRO},
		{"blockresize", "domain", newBlockResizeCmd, mutating | virshRO},
		{"change-media", "domain", newChangeMediaCmd, mutating | virshRO},
		{"console", "domain", newConsoleCmd, mutating | virshRO},
		{"create", "domain", newCreateCmd, mutating | virshRO},
		{"define", "domain", newDefineCmd, mutating | virshRO},
		{"destroy", "domain", newDestroyCmd, mutating | virshRO},
		{"detach-device", "domain", newDetachDeviceCmd, mutating | virshRO},
		{"detach-device-alias", "domain", newDetachDeviceAliasCmd, mutating | virshRO},
		{"detach-disk", "domain", newDetachDiskCmd, mutating | virshRO},
		{"domid", "domain", newDomidCmd, 0},
		{"domjobabort", "domain", newDomjobabortCmd, mutating | virshRO},
		{"domjobinfo", "domain", newDomjobinfoCmd, 0},
		{"domname", "domain", newDomnameCmd, 0},
		{"domuuid", "domain", newDomuuidCmd, 0},
		{"dumpxml", "domain", newDumpxmlCmd, 0},
		{"edit", "domain", newEditCmd, mutating | virshRO},
		{"managedsave", "domain", newManagedSaveCmd, mutating | virshRO},
		{"managedsave-dumpxml", "domain", newManagedSaveDumpXMLCmd, 0},
		{"managedsave-remove", "domain", newManagedSaveRemoveCmd, mutating | virshRO},
		{"migrate", "domain", newMigrateCmd, mutating | virshRO},
		{"migrate-getmaxdowntime", "domain", newMigrateGetMaxDowntimeCmd, 0},
		{"migrate-getspeed", "domain", newMigrateGetSpeedCmd, 0},
		{"migrate-setmaxdowntime", "domain", newMigrateSetMaxDowntimeCmd, mutating | virshRO},
		{"migrate-setspeed", "domain", newMigrateSetSpeedCmd, mutating | virshRO},
		{"qemu-monitor-command", "domain", newQemuMonitorCommandCmd, mutating | virshRO},
		{"qemu-agent-command", "domain", newQemuAgentCommandCmd, mutating | virshRO},
		{"reboot", "domain", newRebootCmd, mutating | virshRO},
		{"reset", "domain", newResetCmd, mutating | virshRO},
		{"restore", "domain", newRestoreCmd, mutating | virshRO},
		{"resume", "domain", newResumeCmd, mutating | virshRO},
		{"save", "domain", newSaveCmd, mutating | virshRO},
		{"save-image-dumpxml", "domain", newSaveImageDumpXMLCmd, 0},
		{"shutdown", "domain", newShutdownCmd, mutating | virshRO},
		{"start", "domain", newStartCmd, mutating | virshRO},
		{"suspend", "domain", newSuspendCmd, mutating | virshRO},
		{"undefine", "domain", newUndefineCmd, mutating | virshRO},
		{"update-device", "domain", newUpdateDeviceCmd, mutating | virshRO},

		// Domain Monitoring (virsh-domain-monitor.c)
		{"domblkerror", "monitor", newDomblkerrorCmd, 0},
		{"domblkinfo", "monitor", newDomblkinfoCmd, 0},
		{"domblklist", "monitor", newDomblklistCmd, 0},
		{"domblkstat", "monitor", newDomblkstatCmd, 0},
		{"domblkthreshold", "monitor", newDomblkthresholdCmd, virshRO},
		{"dominfo", "monitor", newDominfoCmd, 0},
		{"domstate", "monitor", newDomstateCmd, 0},
		{"domstats", "monitor", newDomstatsCmd, 0},
		{"list", "monitor", newListCmd, 0},

		// Domain Events (virsh-domain-event.c)
		{"event", "events", newEventCmd, 0},

		// Host and Hypervisor (virsh-host.c)
		{"host-list", "host", newHostListCmd, 0},
		{"hostname", "host", newHostnameCmd, 0},
		{"uri", "host", newURICmd, 0},
		{"version", "host", newVersionCmd, 0},

		// Checkpoint (virsh-checkpoint.c)
		{"checkpoint-create", "checkpoint", newCheckpointCreateCmd, mutating | virshRO},
		{"checkpoint-create-as", "checkpoint", newCheckpointCreateAsCmd, mutating | virshRO},
		{"checkpoint-delete", "checkpoint", newCheckpointDeleteCmd, mutating | virshRO},
		{"checkpoint-dumpxml", "checkpoint", newCheckpointDumpXMLCmd, 0},
		{"checkpoint-edit", "checkpoint", newCheckpointEditCmd, mutating | virshRO},
		{"checkpoint-info", "checkpoint", newCheckpointInfoCmd, 0},
		{"checkpoint-list", "checkpoint", newCheckpointListCmd, 0},
		{"checkpoint-parent", "checkpoint", newCheckpointParentCmd, 0},

		// Snapshot (virsh-snapshot.c)
		{"snapshot-create", "snapshot", newSnapshotCreateCmd, mutating | virshRO},
		{"snapshot-create-as", "snapshot", newSnapshotCreateAsCmd, mutating | virshRO},
		{"snapshot-current", "snapshot", newSnapshotCurrentCmd, 0},
		{"snapshot-delete", "snapshot", newSnapshotDeleteCmd, mutating | virshRO},
		{"snapshot-dumpxml", "snapshot", newSnapshotDumpXMLCmd, 0},
		{"snapshot-edit", "snapshot", newSnapshotEditCmd, mutating | virshRO},
		{"snapshot-info", "snapshot", newSnapshotInfoCmd, 0},
		{"snapshot-list", "snapshot", newSnapshotListCmd, 0},
		{"snapshot-parent", "snapshot", newSnapshotParentCmd, 0},
		{"snapshot-revert", "snapshot", newSnapshotRevertCmd, mutating | virshRO},

		// Backup (virsh-backup.c)
		{"backup-begin", "backup", newBackupBeginCmd, mutating | virshRO},
		{"backup-dumpxml", "backup", newBackupDumpXMLCmd, 0},

		// Backup Repository (virtsh's own: cmd/backup_repo*.go)
		{"backup-create", "repo", newBackupCreateCmd, mutating},
		{"backup-list", "repo", newBackupListCmd, noConnect},
		{"backup-restore", "repo", newBackupRestoreCmd, 0},
		{"backup-verify", "repo", newBackupVerifyCmd, noConnect},
		{"checkpoint-check", "repo", newCheckpointCheckCmd, 0},

		// Virsh itself (virsh.c, vsh.c)
		{"cd", "virsh", newCdCmd, noConnect},
		{"completion", "virsh", newCompletionCmd, noConnect},
		{"connect", "virsh", newConnectCmd, noConnect},
		{"echo", "virsh", newEchoCmd, noConnect},
		{"exit", "virsh", newExitCmd, noConnect},
		{"help", "virsh", newHelpCmd, noConnect},
		{"hosts", "virsh", newHostsCmd, noConnect},
		{"pwd", "virsh", newPwdCmd, noConnect},
		{"quit", "virsh", newQuitCmd, noConnect},

		// Debugging virtsh
		{"debug", "debug", newDebugCmd, 0},
	}
}

// lookupCommand returns the row of the command called name (nil if none).
func lookupCommand(name string) *entry { return commandIndex[name] }

// Env is what one command shares with its run function: the session
// (connection, settings) and its own IO, a copy of the session's, so a
// per-command -o changes only that command.
type Env struct {
	Sess *shell.Session
	IO   *format.IO
	// Fleet is the fleet that routed the command to Sess, one host's
	// session of it (nil: Sess is the main session, see fleetOf).
	Fleet *fleet.Fleet
}

func newEnv(sess *shell.Session) *Env {
	io := *sess.IO
	return &Env{Sess: sess, IO: &io}
}

// build makes a fresh declaration of the row's command over env, with the
// table's name, group and policy.
func (e *entry) build(env *Env) *spec.Command {
	c := e.new(env)
	c.Name, c.Group = e.name, e.group
	c.Mutating = c.Mutating || e.policy&mutating != 0
	c.NoConnect = e.policy&noConnect != 0
	c.ReadOnlyByLibvirt = e.policy&virshRO != 0
	return c
}

// Declarations builds every command's declaration, in table order, over a
// session that is never connected: for help, man pages, completion and
// tests, which read declarations and run nothing.
func Declarations(sess *shell.Session) []*spec.Command {
	env := newEnv(sess)
	out := make([]*spec.Command, len(commands))
	for i := range commands {
		out[i] = commands[i].build(env)
	}
	return out
}

// declaration builds the declaration of the command called name (nil if
// there is none).
func declaration(sess *shell.Session, name string) *spec.Command {
	e := lookupCommand(name)
	if e == nil {
		return nil
	}
	return e.build(newEnv(sess))
}
