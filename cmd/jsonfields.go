package cmd

// jsonFields documents, per command, the fields -o json|yaml prints (they
// are stable, lower_snake_case, documented in the man page). man/gen prints
// them in each command's page and in virtsh(1). TestJSONFieldsDocumented fails when
// a command that takes -o has no entry, and, for the commands the test driver
// runs, when the output has a key not listed here. "a[].b" is field b of each
// element of list a; "?" marks fields present only when they apply.
var jsonFields = map[string]string{
	"list":                   "a list of {id (null when inactive), name, uuid, state, title? (with --title)}",
	"dominfo":                "id, name, uuid, os_type, state, cpus, cpu_time_ns, max_memory_bytes, used_memory_bytes, persistent, autostart, managed_save, security_model, security_doi, security_label, security_enforcing, messages",
	"domstate":               "state, state_code, reason, reason_code",
	"domid":                  "id (null when inactive)",
	"domname":                "name",
	"domuuid":                "uuid",
	"domblklist":             "a list of {type, device, target, source (\"\" where virsh prints -)}",
	"domblkinfo":             "target, capacity, allocation, physical (bytes); a list of them with --all",
	"domblkstat":             "device (\"\" for the totals over all disks), then the counters under the names virsh prints, in its order, as integers: rd_req, rd_bytes, wr_req, wr_bytes, errs?, flush_operations?, rd_total_times?, wr_total_times?, flush_total_times? (those the driver reports), then any other field under libvirt's name",
	"domblkerror":            "a list of {disk, error (virsh's words), error_code (virDomainDiskErrorCode)}; empty where virsh prints \"No errors found\"",
	"domstats":               "a list of {name, then each group libvirt returned, in its order, keeping libvirt's key names and value types (numbers, booleans, strings): state, cpu, balloon, perf, memory, dirtyrate, vm as objects of their fields without the group prefix (state {state, reason}, cpu {time, user, system, ...}); block, net, vcpu, iothread as lists of {index (the number in libvirt's key: the position for block, net and vcpu, the IOThread ID for iothread), then the entry's fields (block[] {index, name, path?, backingIndex?, rd.reqs, ...})}, each after its other fields under their full names (block.count, net.count, vcpu.current, vcpu.maximum, iothread.count)}",
	"dumpxml":                "xml; with --xpath: matches (a list of strings)",
	"snapshot-dumpxml":       "xml; with --xpath: matches (a list of strings)",
	"checkpoint-dumpxml":     "xml; with --xpath: matches (a list of strings)",
	"backup-dumpxml":         "xml; with --xpath: matches (a list of strings)",
	"managedsave-dumpxml":    "xml; with --xpath: matches (a list of strings)",
	"save-image-dumpxml":     "xml; with --xpath: matches (a list of strings)",
	"uri":                    "uri",
	"hostname":               "hostname",
	"host-list":              "a list of {name, uri, answers, hostname, libvirt_version, running, guests, error? (when it does not answer)}",
	"version":                "compiled_library, library, api_type, api, hypervisor_type, hypervisor, daemon? (with --daemon)",
	"checkpoint-list":        "a list of {name, parent, creation_time, description?, disks[] {disk, checkpoint, bitmap?, node? (running guest), size? (with --size)}}",
	"checkpoint-info":        "name, domain, parent, children, descendants, creation_time, description?, disks[] {disk, checkpoint, bitmap?, node?, size?}",
	"checkpoint-parent":      "name, parent",
	"snapshot-list":          "a list of {name, parent?, creation_time, state, description?}",
	"snapshot-info":          "name, domain, current, state, location, parent (\"\" for none), children, descendants, metadata",
	"snapshot-parent":        "name, parent",
	"snapshot-current":       "name",
	"domjobinfo":             "type, operation?, time_elapsed_ms?, time_remaining_ms?, data_total?, data_processed?, data_remaining?, disk_total?, disk_processed?, disk_remaining?, disk_temp_used?, disk_temp_total?, success? (true only when status is completed), error_message?, status (none, running, completed, failed, cancelled) (sizes in bytes)",
	"backup-begin":           "domain, job (\"backup\"), status (started; with --wait: completed), checkpoint? (the one begun with it)",
	"blockcommit":            "job, domain, disk, status, bytes_done, bytes_total, duration_seconds",
	"blockpull":              "job, domain, disk, status, bytes_done, bytes_total, duration_seconds",
	"blockcopy":              "job, domain, disk, status, bytes_done, bytes_total, duration_seconds",
	"blockjob":               "a list of {disk, job, cur, end, bandwidth_bytes_per_second}",
	"domblkthreshold":        "listing: a list of {dev, target, index, node_name, path, threshold, capacity}; --wait: domain, dev, node_name, path, threshold, excess",
	"event":                  "one JSON object per line: timestamp, event, domain, uuid, details (the event's fields; block-threshold adds target, index, node_name)",
	"backup-create":          "point, time (RFC 3339, UTC), level (full, inc, diff), parent (the point it is layered on; 0 for a full), checkpoint, disks[] {target, bytes (data the point holds), capacity}, state, reason? (why auto took a full), read_bytes? (with --pull: bytes read over NBD)",
	"backup-list":            "a list of {point, time, level, parent, checkpoint, disks[] {target, bytes, capacity}, state (ok, unverified, broken), why? (a broken point's first bad place)}",
	"backup-restore":         "point, disks[] {target, path, chain? (with --keep-chain: the images, base first)}, domain? (with --define)",
	"checkpoint-check":       "domain, queried_qemu, findings[] {kind (missing-bitmap, bitmap-without-checkpoint, inconsistent-bitmap, disabled-bitmap, disk-gone), checkpoint?, bitmap?, disk?, layer? (image, and QEMU node of a running guest), detail, repaired? (with --repair: what was done)}, new_full_needed (IDs of the backup repositories whose checkpoints --repair deleted)",
	"backup-verify":          "ok, points[] {point, state, disk?, offset?, why? (the first bad place of a broken point)}",
	"debug":                  "domains[] {uuid, name, id, stale?, last_fill {when, reason, method, took_ns}, fill_history[], counters {fills, scrapes, verify_hits, verify_misses, lookups}, disks[] {target, alias, device, copy_on_read?, chain[] {index, type, source, format, format_node, storage_node, slice_node?, bitmaps, bitmaps_known, bitmaps_derived?, threshold, capacity}, mirror?, mirror_job?, mirror_ready?}, verify? {differences[]}}, totals, scrape_mode",
	"migrate-getspeed":       "bandwidth_mib_s",
	"migrate-getmaxdowntime": "downtime_ms",
}

// JSONFields returns the documented -o json|yaml fields of a command ("" if
// it prints no data).
func JSONFields(name string) string { return jsonFields[name] }
