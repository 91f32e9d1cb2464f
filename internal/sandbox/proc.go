package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// daemon is one long-running process of the stack: started detached in its own session, so it
// outlives the command that started it, with its pid recorded so that Down stops exactly it.
type daemon struct {
	Name string
	Path string
	Args []string
	Env  []string // added to a minimal environment
	Dir  string
}

// ProcessRecord identifies a process by pid and start time, so a recycled pid is never killed.
type ProcessRecord struct {
	PID       int    `json:"pid"`
	StartTime uint64 `json:"start_time"`
	Command   string `json:"command"`
}

func (l Layout) pidFile(name string) string { return filepath.Join(l.RunDir(), name+".pid") }

// start launches d unless a live process from an earlier start is recorded; it returns true when
// it started a new one.
func (l Layout) start(d daemon) (bool, error) {
	if _, ok := l.running(d.Name); ok {
		return false, nil
	}
	logFile, err := os.OpenFile(l.LogFile(d.Name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return false, err
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "\n==== %s: %s %s\n", time.Now().Format(time.RFC3339), d.Path, strings.Join(d.Args, " "))
	cmd := exec.Command(d.Path, d.Args...)
	cmd.Dir = d.Dir
	cmd.Env = append(append(baseEnv(), stackDirEnv+"="+l.Dir), d.Env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return false, fmt.Errorf("start %s: %w", d.Name, err)
	}
	pid := cmd.Process.Pid
	rec := ProcessRecord{PID: pid, StartTime: processStartTime(pid), Command: d.Path}
	// Release: the daemon is reparented to init when this command exits.
	_ = cmd.Process.Release()
	data, _ := json.Marshal(rec)
	return true, os.WriteFile(l.pidFile(d.Name), data, 0o644)
}

// baseEnv is what every daemon inherits: enough to run, nothing from the caller's proxies or
// credentials.
func baseEnv() []string {
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}
	if home := os.Getenv("HOME"); home != "" {
		env = append(env, "HOME="+home)
	}
	return env
}

// running reports the recorded process of name if it is still the same live process.
func (l Layout) running(name string) (ProcessRecord, bool) {
	data, err := os.ReadFile(l.pidFile(name))
	if err != nil {
		return ProcessRecord{}, false
	}
	var rec ProcessRecord
	if json.Unmarshal(data, &rec) != nil || rec.PID <= 0 {
		return ProcessRecord{}, false
	}
	return rec, rec.Alive()
}

// Alive reports whether the recorded process still runs (a zombie does not count).
func (r ProcessRecord) Alive() bool {
	st := processStartTime(r.PID)
	if st == 0 || st != r.StartTime {
		return false
	}
	// A zombie is dead for our purposes.
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", r.PID))
	if err != nil {
		return false
	}
	fields := strings.Fields(afterComm(string(stat)))
	return len(fields) > 0 && fields[0] != "Z"
}

// stop sends SIGTERM to the recorded process and its session, waits up to grace, then SIGKILLs.
// It returns the record of what it stopped (zero if nothing was running).
func (l Layout) stop(ctx context.Context, name string, grace time.Duration) (ProcessRecord, error) {
	rec, ok := l.running(name)
	defer os.Remove(l.pidFile(name))
	if !ok {
		return rec, nil
	}
	// Setsid made the daemon a session and process-group leader: signal the whole group so that
	// helpers it forked (plugins, shims started without their own session) go too.
	_ = syscall.Kill(-rec.PID, syscall.SIGTERM)
	_ = syscall.Kill(rec.PID, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) && rec.Alive() {
		select {
		case <-ctx.Done():
			return rec, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	if rec.Alive() {
		_ = syscall.Kill(-rec.PID, syscall.SIGKILL)
		_ = syscall.Kill(rec.PID, syscall.SIGKILL)
		for i := 0; i < 50 && rec.Alive(); i++ {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if rec.Alive() {
		return rec, fmt.Errorf("%s (pid %d) did not stop", name, rec.PID)
	}
	return rec, nil
}

// processStartTime is field 22 of /proc/PID/stat (clock ticks since boot), 0 if there is no process.
func processStartTime(pid int) uint64 {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	fields := strings.Fields(afterComm(string(stat)))
	// fields[0] is field 3 (state); start time is field 22.
	if len(fields) < 20 {
		return 0
	}
	v, _ := strconv.ParseUint(fields[19], 10, 64)
	return v
}

// afterComm skips "pid (comm) " — comm may contain spaces and parentheses.
func afterComm(stat string) string {
	if i := strings.LastIndexByte(stat, ')'); i >= 0 && i+2 <= len(stat) {
		return stat[i+2:]
	}
	return stat
}

// processesMatching returns live pids whose command line contains every needle; teardown uses it
// for processes that detach from their parent on purpose (containerd shims).
func processesMatching(needles ...string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(raw) == 0 {
			continue
		}
		cmdline := strings.ReplaceAll(string(raw), "\x00", " ")
		match := true
		for _, n := range needles {
			if !strings.Contains(cmdline, n) {
				match = false
				break
			}
		}
		if match {
			pids = append(pids, pid)
		}
	}
	return pids
}

// run executes a short command and returns a readable error carrying its output.
func run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) || len(out) > 0 {
			return string(out), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
		return string(out), fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return string(out), nil
}
