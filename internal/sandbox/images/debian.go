package images

import (
	"archive/tar"
	"context"
	_ "embed"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The database images' entrypoints mimic the official images' environment contract.
var (
	//go:embed entrypoints/postgres.sh
	postgresEntrypoint []byte
	//go:embed entrypoints/mariadb.sh
	mariadbEntrypoint []byte
)

// debianSuite is the release the database root filesystems are made from; bookworm ships
// postgresql-15 and mariadb 10.11, the versions the image references name.
const debianSuite = "bookworm"

// debianMirrors are passed explicitly: without them mmdebstrap adds security.debian.org, which the
// stack may not reach; deb.debian.org serves the security suite too.
var debianMirrors = []string{
	"deb http://deb.debian.org/debian " + debianSuite + " main",
	"deb http://deb.debian.org/debian " + debianSuite + "-updates main",
	"deb http://deb.debian.org/debian-security " + debianSuite + "-security main",
}

// slimDpkgOpts keep documentation, man pages and translations out of the root filesystem (dpkg
// never unpacks them), but keep copyright files.
var slimDpkgOpts = []string{
	"path-exclude=/usr/share/doc/*",
	"path-include=/usr/share/doc/*/copyright",
	"path-exclude=/usr/share/man/*",
	"path-exclude=/usr/share/info/*",
	"path-exclude=/usr/share/lintian/*",
	"path-exclude=/usr/share/locale/*",
	"path-include=/usr/share/locale/locale.alias",
}

const standardPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// entrypointPath is where the database images keep their entrypoint script, as the official
// images do.
const entrypointPath = "/usr/local/bin/docker-entrypoint.sh"

// Postgres builds PostgresImage: Debian bookworm with postgresql-15, whose entrypoint initialises
// PGDATA from POSTGRES_PASSWORD/POSTGRES_USER/POSTGRES_DB and runs the server on port 5432.
func (b *Builder) Postgres(ctx context.Context) (string, error) {
	rootfs, err := b.debianRootfs(ctx, rootfsRecipe{
		name:     "postgres",
		packages: []string{"postgresql-15"},
		// JIT compilation is optional (postgres disables it when llvmjit.so is absent) but its
		// LLVM libraries and bitcode are 150 MiB of the image.
		dpkgOpts: []string{
			"path-exclude=/usr/lib/*/libLLVM-*.so*",
			"path-exclude=/usr/lib/*/libz3.so*",
			"path-exclude=/usr/lib/postgresql/15/lib/llvmjit*",
			"path-exclude=/usr/lib/postgresql/15/lib/bitcode/*",
		},
		customize: []string{
			// The package creates a "15/main" cluster; the image's cluster lives in PGDATA.
			`rm -rf "$1/var/lib/postgresql/15" "$1/etc/postgresql/15"`,
			`chroot "$1" install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data`,
		},
	})
	if err != nil {
		return "", err
	}
	img := Image{
		Ref:        PostgresImage,
		Entrypoint: []string{entrypointPath},
		Cmd:        []string{"postgres"},
		Env: []string{
			// pg_dump, pg_restore and psql of version 15 come first, before Debian's wrappers.
			"PATH=/usr/lib/postgresql/15/bin:" + standardPath,
			"PGDATA=/var/lib/postgresql/data",
			"LANG=C.UTF-8",
		},
		StopSignal: "SIGINT", // postgres's "fast" shutdown, as in the official image
	}
	return b.debianImage(img, rootfs, postgresEntrypoint)
}

// MariaDB builds MariaDBImage: Debian bookworm with mariadb-server and mariadb-client, whose
// entrypoint initialises /var/lib/mysql from MARIADB_ROOT_PASSWORD (and the optional
// MARIADB_DATABASE, MARIADB_USER, MARIADB_PASSWORD) and runs the server on port 3306.
func (b *Builder) MariaDB(ctx context.Context) (string, error) {
	rootfs, err := b.debianRootfs(ctx, rootfsRecipe{
		name:     "mariadb",
		packages: []string{"mariadb-server", "mariadb-client"},
		customize: []string{
			// The package initialises a data directory; the image's lives in the volume.
			`rm -rf "$1/var/lib/mysql"`,
			`chroot "$1" install -d -o mysql -g mysql -m 0755 /var/lib/mysql`,
		},
	})
	if err != nil {
		return "", err
	}
	img := Image{
		Ref:        MariaDBImage,
		Entrypoint: []string{entrypointPath},
		Cmd:        []string{"mariadbd"},
		Env:        []string{"PATH=" + standardPath, "LANG=C.UTF-8"},
	}
	return b.debianImage(img, rootfs, mariadbEntrypoint)
}

// debianImage stacks the cleaned root filesystem and a layer with the entrypoint script.
func (b *Builder) debianImage(img Image, rootfs string, entrypoint []byte) (string, error) {
	st, err := os.Stat(rootfs)
	if err != nil {
		return "", err
	}
	name := strings.TrimPrefix(img.Ref[:strings.LastIndex(img.Ref, ":")], "localhost/styrmin/")
	// The root filesystem tar's name already carries the hash of how it was made.
	key := cacheKey(img.Ref, filepath.Base(rootfs), strconv.FormatInt(st.Size(), 10), string(entrypoint), strings.Join(img.Env, "\n"))
	return b.cached("", name, key, "image", func(dest string) error {
		img.Layers = []Layer{
			{TarPath: rootfs, Filter: rootfsEntry},
			{Files: []File{RegularFile(entrypointPath, 0o755, entrypoint)}},
		}
		return WriteArchive(dest, img)
	})
}

// rootfsRecipe says how to make one Debian root filesystem.
type rootfsRecipe struct {
	name      string
	packages  []string // installed on top of the minbase variant, with their dependencies
	dpkgOpts  []string // added to slimDpkgOpts
	customize []string // mmdebstrap customize hooks: shell commands run with $1 = the root
}

// debianRootfs makes (or finds in the cache) a minbase bookworm root filesystem tar.
func (b *Builder) debianRootfs(ctx context.Context, r rootfsRecipe) (string, error) {
	args := []string{
		"--mode=root",  // we are root here: chroot directly, no user namespace needed
		"--format=tar", // not inferred from the temporary output name
		"--variant=minbase",
		"--include=" + strings.Join(r.packages, ","),
		`--aptopt=Acquire::Languages "none"`,
	}
	for _, o := range append(append([]string{}, slimDpkgOpts...), r.dpkgOpts...) {
		args = append(args, "--dpkgopt="+o)
	}
	// mmdebstrap copies the host's resolv.conf and hostname in; the runtime provides both.
	for _, h := range append([]string{`rm -f "$1/etc/resolv.conf" "$1/etc/hostname"`}, r.customize...) {
		args = append(args, "--customize-hook="+h)
	}
	key := cacheKey(append(append([]string{"mmdebstrap", debianSuite}, args...), debianMirrors...)...)
	return b.cached("rootfs", r.name, key, "root filesystem", func(dest string) error {
		tmp := dest + ".tmp"
		defer os.Remove(tmp)
		full := append(append(append([]string{}, args...), debianSuite, tmp), debianMirrors...)
		if err := b.run(ctx, "", nil, "mmdebstrap", full...); err != nil {
			return err
		}
		return os.Rename(tmp, dest)
	})
}

// rootfsEntry turns an mmdebstrap tar entry into a layer entry: names without the "./" prefix
// (as in `docker save` layers), no root entry, and no device nodes, which the runtime provides.
func rootfsEntry(h *tar.Header) (*tar.Header, bool) {
	name := strings.TrimPrefix(h.Name, "./")
	if name == "" || name == "." {
		return nil, false
	}
	if strings.HasPrefix(name, "dev/") && name != "dev/" {
		return nil, false
	}
	h.Name = name
	if h.Typeflag == tar.TypeLink {
		h.Linkname = strings.TrimPrefix(h.Linkname, "./")
	}
	return h, true
}
