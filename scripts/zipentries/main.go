// Command zipentries prints the names of the files in a zip archive, one per line, sorted:
// scripts/release-check.sh reads the release archives with it, so the check needs nothing but Go
// (unzip is not on every machine).
package main

import (
	"archive/zip"
	"fmt"
	"os"
	"slices"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: zipentries ARCHIVE")
		os.Exit(2)
	}
	archive, err := zip.OpenReader(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer archive.Close()
	var names []string
	for _, f := range archive.File {
		names = append(names, f.Name)
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Println(name)
	}
}
