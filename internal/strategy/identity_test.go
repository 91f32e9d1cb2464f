package strategy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A restore replays a dump only when it is the one the restored backup made:
// the identity file in the dump directory must name the backup, and the marker
// must be the one the backup's log recorded for the pod.

// otherBackup is a later Backup of the same namespace than testBackup.
const otherBackup = "shop-20261201-020000-q9z3"

// checkRefused checks that the restore r refused, saying want, before it
// replayed anything.
func (c *container) checkRefused(r result, want string) {
	c.t.Helper()
	if r.code == 0 || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "refusing to restore") {
		c.t.Errorf("restore: exit %d, stderr %q; want a refusal saying %q", r.code, r.stderr, want)
	}
	if replayed, _ := filepath.Glob(filepath.Join(c.log, "restored.*")); len(replayed) > 0 {
		c.t.Errorf("the restore replayed the dump into %q", replayed)
	}
}

// inEveryShell runs test with a postgres plan in a container of every shell.
func inEveryShell(t *testing.T, test func(t *testing.T, c *container, plan *Plan)) {
	for _, shell := range shells(t) {
		t.Run(filepath.Base(shell), func(t *testing.T) {
			c := newContainer(t, shell, map[string]string{"POSTGRES_USER": "app", "POSTGRES_DB": "shop"})
			test(t, c, postgresPlan(t, c))
		})
	}
}

// The dump names the backup it was made for: a restore of another backup
// refuses it even when it is given the markers the dump's own backup
// recorded, which the dump matches.
func TestRestoreRefusesTheDumpOfAnotherBackup(t *testing.T) {
	inEveryShell(t, func(t *testing.T, c *container, plan *Plan) {
		recorded := recordedBy(t, plan, c.dump(plan))
		r := c.run(restoreScriptFor(t, plan, otherBackup, recorded))
		c.checkRefused(r, "the dump in "+c.dumpDir()+" was made for backup '"+testBackup+"', not for "+otherBackup)
	})
}

// A dump the backup's log did not record, here a second dump under the same
// backup name after the first was recorded, is refused; the dump that was
// recorded is replayed.
func TestRestoreRefusesADumpItsBackupDidNotRecord(t *testing.T) {
	inEveryShell(t, func(t *testing.T, c *container, plan *Plan) {
		first := c.dump(plan, "FAKE_DATA=orders 1-41")
		second := c.dump(plan, "FAKE_DATA=orders 1-42")

		r := c.run(restoreScript(t, plan, recordedBy(t, plan, first)))
		c.checkRefused(r, "the dump in "+c.dumpDir()+" is not the one backup "+testBackup+
			" recorded in its log for pod "+testPodName+" (its marker differs)")

		r = c.run(restoreScript(t, plan, recordedBy(t, plan, second)))
		if r.code != 0 {
			t.Fatalf("restore of the recorded dump exited %d:\n%s", r.code, r.stderr)
		}
		if got := c.read(filepath.Join(c.log, "restored.shop")); got != "PGDMP fake archive of shop\norders 1-42\n" {
			t.Errorf("restored %q into shop, want the second dump", got)
		}
	})
}

// A restored pod whose dump the backup's log did not record (another pod's
// was) refuses, naming itself.
func TestRestoreRefusesAPodTheBackupRecordedNothingOf(t *testing.T) {
	inEveryShell(t, func(t *testing.T, c *container, plan *Plan) {
		recorded := recordedBy(t, plan, c.dump(plan))
		r := c.run(restoreScript(t, plan, map[string]string{"db-1": recorded[testPodName]}))
		c.checkRefused(r, "backup "+testBackup+" recorded no dump of pod "+testPodName+" in its log")
	})
}

// Without HOSTNAME in the environment, the dump reports and the restore
// checks the kernel's host name, which is the pod's name in a pod.
func TestDumpAndRestoreFallBackToTheKernelHostname(t *testing.T) {
	data, err := os.ReadFile("/proc/sys/kernel/hostname")
	if err != nil {
		t.Fatal(err)
	}
	hostname := strings.TrimSpace(string(data))
	inEveryShell(t, func(t *testing.T, c *container, plan *Plan) {
		c.hostname = ""
		reports := ParseDumpReports(c.dump(plan).stdout)
		for _, report := range reports {
			if report.Pod != hostname {
				t.Errorf("report %+v names pod %q, want the kernel's host name %q", report, report.Pod, hostname)
			}
		}
		marker, err := plan.RecordedMarker(reports)
		if err != nil {
			t.Fatal(err)
		}

		r := c.run(restoreScript(t, plan, map[string]string{testPodName: marker}))
		c.checkRefused(r, "recorded no dump of pod "+hostname+" in its log")
		if r := c.run(restoreScript(t, plan, map[string]string{hostname: marker})); r.code != 0 {
			t.Errorf("restore in pod %s exited %d:\n%s", hostname, r.code, r.stderr)
		}
	})
}

// Backup A dumps; backup B's dump hook does not run (a hook annotation on
// the pod replaced it, or the hook was skipped), so the volume B captures
// still holds A's dump. B's log holds no report of a dump: nothing is
// recorded for B, and a restore of B refuses A's dump.
func TestRestoreRefusesAStaleDump(t *testing.T) {
	inEveryShell(t, func(t *testing.T, c *container, plan *Plan) {
		c.dump(plan)
		c.checkDump("postgres.sha256", "postgres.dump", "postgres-globals.sql")

		stdoutB := "" // what B's hooks printed: no hook ran
		if reports := ParseDumpReports(stdoutB); len(reports) != 0 {
			t.Errorf("B's log reports %+v", reports)
		}
		_, err := plan.RecordedMarker(ParseDumpReports(stdoutB))
		if err == nil || !strings.Contains(err.Error(), "no report of postgres.dump, postgres-globals.sql, postgres.backup") {
			t.Errorf("RecordedMarker of B's log: %v, want it to name every file of the dump", err)
		}

		r := c.run(restoreScriptFor(t, plan, otherBackup, nil))
		c.checkRefused(r, "was made for backup '"+testBackup+"', not for "+otherBackup)
	})
}

// A Schedule's backups are named when Velero makes them, so their dumps name a run of the
// schedule: each run its own identity, recorded in the log of the backup that ran it. A restore
// of the backup whose log recorded the second run replays it and refuses the first run's dump,
// which a volume still holds when the second run's hook did not run.
func TestScheduledDumpsNameTheirRun(t *testing.T) {
	inEveryShell(t, func(t *testing.T, c *container, plan *Plan) {
		hooks := plan.ScheduleHooks("shop", "nightly")
		if hooks == nil || len(hooks.PreHooks) != 1 {
			t.Fatalf("schedule hooks %+v, want one pre hook", hooks)
		}
		run := func(data string) (string, map[string]string) {
			r := c.run(hooks.PreHooks[0].Exec.Command, "FAKE_DATA="+data)
			if r.code != 0 {
				t.Fatalf("scheduled dump exited %d:\n%s", r.code, r.stderr)
			}
			reports := ParseDumpReports(r.stdout)
			if len(reports) == 0 {
				t.Fatalf("the scheduled dump reported nothing:\n%s", r.stdout)
			}
			identity := reports[0].Backup
			if !strings.HasPrefix(identity, ScheduleRunPrefix("nightly")) || len(identity) <= len(ScheduleRunPrefix("nightly")) {
				t.Fatalf("the scheduled dump names %q, want a run of %q", identity, ScheduleRunPrefix("nightly"))
			}
			if got := strings.TrimSpace(c.read(filepath.Join(c.dumpDir(), identityFile(plan)))); got != identity {
				t.Errorf("identity file %q, report %q", got, identity)
			}
			recorded, err := recordedFor(plan, identity, r.stdout)
			if err != nil {
				t.Fatal(err)
			}
			return identity, recorded
		}
		first, recordedFirst := run("orders 1-41")
		second, recordedSecond := run("orders 1-42")
		if first == second {
			t.Fatalf("two runs share the identity %q", first)
		}

		// The volume holds the second run's dump; the backup that recorded the first refuses it.
		r := c.run(restoreScriptFor(t, plan, "nightly-20261201020000", recordedFirst))
		c.checkRefused(r, "is not the one backup nightly-20261201020000 recorded in its log for pod "+testPodName+" (its marker differs)")

		if r := c.run(restoreScriptFor(t, plan, "nightly-20261201030000", recordedSecond)); r.code != 0 {
			t.Fatalf("restore of the recorded run exited %d:\n%s", r.code, r.stderr)
		}
		if got := c.read(filepath.Join(c.log, "restored.shop")); got != "PGDMP fake archive of shop\norders 1-42\n" {
			t.Errorf("restored %q into shop, want the second run's dump", got)
		}
	})
}
