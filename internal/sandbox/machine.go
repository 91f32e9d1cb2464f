package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// stackDirEnv marks every process the stack starts with the .sandbox directory it belongs to, so
// that any checkout can tell whose stack a process is (containerd passes it on to its shims).
const stackDirEnv = "STYRMIN_SANDBOX_DIR"

// machine is what this machine holds of any local stack, whoever started it.
type machine struct {
	claim     *Claim
	processes []stackProcess // live processes of a stack, each with the .sandbox directory it belongs to
	bridge    bool           // the stack's bridge exists
	ports     []portUser     // the stack's ports that something listens on
}

type stackProcess struct {
	PID  int
	Name string
	Dir  string
}

type portUser struct {
	Addr string
	stackProcess
}

// probeMachine reads the claim, the processes, the bridge and the stack's ports. It changes nothing.
func probeMachine(context.Context) (machine, error) {
	claim, err := ReadClaim()
	if err != nil {
		return machine{}, err
	}
	m := machine{claim: claim, processes: stackProcesses()}
	_, err = net.InterfaceByName(BridgeName)
	m.bridge = err == nil
	m.ports = portsInUse(stackPorts(), m.processes)
	return m, nil
}

// lockAndProbe takes the machine's lock for the checkout whose .sandbox is dir, then reads what
// the machine holds: what up, down and unguard decide from, unchanged while they act.
func lockAndProbe(ctx context.Context, dir string) (machine, func(), error) {
	release, err := lockMachine(dir)
	if err != nil {
		return machine{}, nil, err
	}
	m, err := probeMachine(ctx)
	if err != nil {
		release()
		return machine{}, nil, err
	}
	return m, release, nil
}

// owner is the .sandbox directory whose stack holds the machine: the claim's, or for a stack
// started before claims existed, the one its processes belong to. "" when none does.
func (m machine) owner() string {
	if m.claim != nil {
		return m.claim.Dir
	}
	for _, p := range m.processes {
		return p.Dir
	}
	return ""
}

// processesOf lists the live processes that belong to the stack of dir.
func (m machine) processesOf(dir string) []stackProcess {
	var ps []stackProcess
	for _, p := range m.processes {
		if p.Dir == dir {
			ps = append(ps, p)
		}
	}
	return ps
}

// leftovers describes what is present of a stack besides processes: the bridge and the ports.
func (m machine) leftovers() []string {
	var left []string
	if m.bridge {
		left = append(left, "bridge "+BridgeName)
	}
	for _, p := range m.ports {
		who := "a program that is not part of a local stack"
		if p.PID != 0 {
			who = fmt.Sprintf("pid %d (%s)", p.PID, p.Name)
		}
		left = append(left, fmt.Sprintf("port %s in use by %s", p.Addr, who))
	}
	return left
}

// conflict says why the checkout whose .sandbox is dir may not bring its stack up, or nil when
// the machine is free or its stack is dir's own. A claim whose checkout is gone and which left
// nothing running is stale: it does not block.
func (m machine) conflict(dir string) error {
	owner := m.owner()
	if owner == dir {
		return nil
	}
	if owner == "" {
		if left := m.leftovers(); len(left) > 0 {
			return &OwnedElsewhereError{Leftovers: left}
		}
		return nil
	}
	live := m.processesOf(owner)
	if len(live) == 0 && !m.bridge && len(m.ports) == 0 && !exists(filepath.Dir(owner)) {
		return nil
	}
	e := &OwnedElsewhereError{Owner: owner, Processes: live}
	if m.claim != nil {
		e.Since = m.claim.Since
	}
	if len(live) == 0 {
		e.Leftovers = m.leftovers()
	}
	return e
}

// stackPorts are the addresses the stack's servers listen on.
func stackPorts() []string {
	var addrs []string
	for _, p := range []int{APIServerPort, MinIOPort} {
		addrs = append(addrs, net.JoinHostPort(BridgeAddress, strconv.Itoa(p)))
	}
	for _, p := range []int{EtcdClientPort, EtcdPeerPort, KubeletPort, KubeletHealthz, ControllerPort, SchedulerPort, VeleroMetrics, VeleroProfiler} {
		addrs = append(addrs, net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	}
	return addrs
}

// stackComponents are the executables of a stack started before its processes carried
// stackDirEnv; such a process is recognised by its name and a .sandbox path on its command line.
var stackComponents = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "containerd", "minio", "velero", "local-path-provisioner"}

// stackProcesses finds every live process of a local stack on the machine.
func stackProcesses() []stackProcess {
	entries, _ := os.ReadDir("/proc")
	var ps []stackProcess
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if p, ok := stackProcessOf(pid); ok {
			ps = append(ps, p)
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].PID < ps[j].PID })
	return ps
}

func stackProcessOf(pid int) (stackProcess, bool) {
	proc := filepath.Join("/proc", strconv.Itoa(pid))
	p := stackProcess{PID: pid, Name: processName(pid)}
	if env, err := os.ReadFile(filepath.Join(proc, "environ")); err == nil {
		for _, kv := range bytes.Split(env, []byte{0}) {
			if v, ok := bytes.CutPrefix(kv, []byte(stackDirEnv+"=")); ok && len(v) > 0 {
				p.Dir = string(v)
				return p, (ProcessRecord{PID: pid, StartTime: processStartTime(pid)}).Alive()
			}
		}
	}
	if !isStackComponent(p.Name) {
		return p, false
	}
	raw, _ := os.ReadFile(filepath.Join(proc, "cmdline"))
	if p.Dir = sandboxDirIn(strings.Split(string(raw), "\x00")); p.Dir == "" {
		return p, false
	}
	return p, (ProcessRecord{PID: pid, StartTime: processStartTime(pid)}).Alive()
}

// sandboxDirIn finds the first .sandbox directory named on a command line ("--flag=DIR/..." or
// "DIR/..."), "" when there is none.
func sandboxDirIn(args []string) string {
	for _, arg := range args {
		if i := strings.Index(arg, "/.sandbox/"); i >= 0 {
			start := strings.LastIndexAny(arg[:i], "= ") + 1
			return filepath.Clean(arg[start : i+len("/.sandbox")])
		}
	}
	return ""
}

// processName is the base name of the process's executable (the kernel's comm is cut at 15
// bytes), without the build hash the stack's cache adds.
func processName(pid int) string {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		return strings.TrimSpace(string(comm))
	}
	return strings.TrimSuffix(filepath.Base(exe), " (deleted)")
}

func isStackComponent(name string) bool {
	for _, c := range stackComponents {
		if name == c || strings.HasPrefix(name, c+"-") {
			return true
		}
	}
	return false
}

// portsInUse lists which of addrs something listens on, with the listening process when it can
// be found; known holds the stack processes, to name the stack a listener belongs to.
func portsInUse(addrs []string, known []stackProcess) []portUser {
	listening := listeningSockets()
	if len(listening) == 0 {
		return nil
	}
	wanted := map[string]bool{}
	for _, a := range addrs {
		wanted[a] = true
	}
	inodes := map[string]string{} // socket inode → address it blocks
	for inode, addr := range listening {
		host, port, _ := net.SplitHostPort(addr)
		switch {
		case wanted[addr]:
			inodes[inode] = addr
		case host == "0.0.0.0" || host == "::":
			for a := range wanted {
				if strings.HasSuffix(a, ":"+port) {
					inodes[inode] = a
				}
			}
		}
	}
	owners := socketOwners(inodes)
	byPID := map[int]stackProcess{}
	for _, p := range known {
		byPID[p.PID] = p
	}
	var users []portUser
	for inode, addr := range inodes {
		u := portUser{Addr: addr}
		if pid := owners[inode]; pid != 0 {
			u.stackProcess = stackProcess{PID: pid, Name: processName(pid)}
			if p, ok := byPID[pid]; ok {
				u.stackProcess = p
			}
		}
		users = append(users, u)
	}
	sort.Slice(users, func(i, j int) bool { return users[i].Addr < users[j].Addr })
	return users
}

// listeningSockets maps the inode of every listening TCP socket to its local address.
func listeningSockets() map[string]string {
	out := map[string]string{}
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(file)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" { // 0A: LISTEN
				continue
			}
			if addr, ok := parseProcNetAddr(fields[1]); ok {
				out[fields[9]] = addr
			}
		}
		f.Close()
	}
	return out
}

// parseProcNetAddr reads /proc/net/tcp's "0100007F:1F90" (the address in host byte order, 32-bit
// words) as "127.0.0.1:8080".
func parseProcNetAddr(s string) (string, bool) {
	hexIP, hexPort, ok := strings.Cut(s, ":")
	if !ok {
		return "", false
	}
	raw, err := hex.DecodeString(hexIP)
	port, err2 := strconv.ParseUint(hexPort, 16, 16)
	if err != nil || err2 != nil || (len(raw) != 4 && len(raw) != 16) {
		return "", false
	}
	ip := make(net.IP, len(raw))
	for i := 0; i < len(raw); i += 4 { // each 32-bit word is little-endian
		ip[i], ip[i+1], ip[i+2], ip[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	if v4 := ip.To4(); v4 != nil && len(raw) == 16 && !ip.IsUnspecified() {
		ip = v4
	}
	host := ip.String()
	if ip.IsUnspecified() {
		host = "0.0.0.0"
		if len(raw) == 16 {
			host = "::"
		}
	}
	return net.JoinHostPort(host, strconv.FormatUint(port, 10)), true
}

// socketOwners finds the process holding each socket inode.
func socketOwners(inodes map[string]string) map[string]int {
	owners := map[string]int{}
	if len(inodes) == 0 {
		return owners
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		fds, _ := os.ReadDir(filepath.Join("/proc", e.Name(), "fd"))
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join("/proc", e.Name(), "fd", fd.Name()))
			if inode, ok := strings.CutPrefix(link, "socket:["); err == nil && ok {
				inode = strings.TrimSuffix(inode, "]")
				if _, want := inodes[inode]; want {
					owners[inode] = pid
				}
			}
		}
	}
	return owners
}
