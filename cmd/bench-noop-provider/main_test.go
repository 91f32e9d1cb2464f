package main

import "testing"

// The floor must have as many attributes as the resource it is the floor of.
func TestLocationAttributesCounted(t *testing.T) {
	n, err := locationAttributes()
	if err != nil {
		t.Fatal(err)
	}
	if n < 20 {
		t.Fatalf("styrmin_backup_location has %d attributes and blocks; it has had more than 20 since it was written", n)
	}
	t.Logf("styrmin_backup_location: %d attributes and blocks", n)
}
