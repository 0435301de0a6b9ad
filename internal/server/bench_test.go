package server

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkDownloadFromLargePackage is the registry's side of installing
// a package of many files: one download by name from a package of 10,000
// files, as `make bench` asks for each of them.
func BenchmarkDownloadFromLargePackage(b *testing.B) {
	const n = 10000
	s := New(Options{})
	if err := s.AddProject(Project{ID: 1, Path: "bench/packages", Visibility: Public}); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		if _, err := s.Publish(1, "many", "1.0.0", fmt.Sprintf("d%03d/f%05d.txt", i/100, i), []byte(fmt.Sprint("file ", i)), ""); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		k := i % n
		req := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/api/v4/projects/1/packages/generic/many/1.0.0/d%03d/f%05d.txt", k/100, k), nil)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("download: %d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkDownloadFromLargeProject is the registry's side of installing
// many packages: one download by name from a project of 1,000 packages of
// three versions each.
func BenchmarkDownloadFromLargeProject(b *testing.B) {
	const n = 1000
	s := New(Options{})
	if err := s.AddProject(Project{ID: 1, Path: "bench/packages", Visibility: Public}); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		for v := range 3 {
			name := fmt.Sprintf("pkg-%04d", i)
			if _, err := s.Publish(1, name, fmt.Sprintf("1.%d.0", v), name+".txt", []byte(fmt.Sprint("file ", i, v)), ""); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		name := fmt.Sprintf("pkg-%04d", i%n)
		req := httptest.NewRequest(http.MethodGet, "/api/v4/projects/1/packages/generic/"+name+"/1.2.0/"+name+".txt", nil)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("download: %d %s", w.Code, w.Body)
		}
	}
}
