package server

import "testing"

// TestAnonymousOptions pins what a request without credentials may do under
// the default (GitLab's rules), AnonymousUser (acts as that user, so it may
// publish where the user may) and RequireAuth (401 everywhere), while
// credentials keep working as before.
func TestAnonymousOptions(t *testing.T) {
	type req struct {
		method, path string
		cred         []string
		want         int
	}
	pat := []string{"PRIVATE-TOKEN", "tok"}
	for _, tc := range []struct {
		name string
		opts Options
		reqs []req
	}{
		{"gitlab default", Options{AutoCreateProjects: true}, []req{
			{"PUT", genericPath("1", "tool/2.0.0/a.bin"), nil, 401},
			{"PUT", genericPath("9", "tool/1.0.0/a.bin"), nil, 401},
			{"GET", genericPath("1", "tool/1.0.0/a.bin"), nil, 200},
			{"GET", genericPath("2", "tool/1.0.0/a.bin"), nil, 401},
			{"GET", "/api/v4/projects/1/packages", nil, 200},
			{"PUT", genericPath("1", "tool/3.0.0/a.bin"), pat, 201},
		}},
		{"anonymous user", Options{AutoCreateProjects: true, AnonymousUser: "gpm"}, []req{
			{"PUT", genericPath("1", "tool/2.0.0/a.bin"), nil, 201},
			// A new project is created, owned by the anonymous user.
			{"PUT", genericPath("9", "tool/1.0.0/a.bin"), nil, 201},
			{"GET", genericPath("9", "tool/1.0.0/a.bin"), nil, 200},
			// Packages 1 to 3 are in projects 1 and 2; the owner may
			// delete.
			{"DELETE", "/api/v4/projects/9/packages/4", nil, 204},
			{"GET", genericPath("9", "tool/1.0.0/a.bin"), nil, 404},
			// The private project is not the user's.
			{"GET", genericPath("2", "tool/1.0.0/a.bin"), nil, 404},
			{"PUT", genericPath("2", "tool/2.0.0/a.bin"), nil, 404},
			// Unknown credentials act as the user too.
			{"GET", genericPath("1", "tool/1.0.0/a.bin"), []string{"PRIVATE-TOKEN", "nope"}, 200},
			{"PUT", genericPath("1", "tool/4.0.0/a.bin"), []string{"PRIVATE-TOKEN", "nope"}, 201},
			{"PUT", genericPath("1", "tool/5.0.0/a.bin"), []string{"JOB-TOKEN", "nope"}, 201},
			{"PUT", genericPath("1", "tool/6.0.0/a.bin"), []string{"Authorization", "Bearer nope"}, 201},
			// A known token acts as its own user.
			{"PUT", genericPath("9", "tool/2.0.0/a.bin"), []string{"PRIVATE-TOKEN", "other"}, 403},
			{"GET", genericPath("1", "tool/1.0.0/a.bin"), []string{"PRIVATE-TOKEN", "other"}, 200},
		}},
		{"require auth", Options{AutoCreateProjects: true, RequireAuth: true}, []req{
			{"GET", genericPath("1", "tool/1.0.0/a.bin"), nil, 401},
			{"GET", "/api/v4/projects/1/packages", nil, 401},
			{"GET", "/api/v4/groups/acme/packages", nil, 401},
			{"PUT", genericPath("9", "tool/1.0.0/a.bin"), nil, 401},
			{"GET", genericPath("1", "tool/1.0.0/a.bin"), pat, 200},
			{"GET", "/api/v4/projects/1/packages", pat, 200},
			{"PUT", genericPath("9", "tool/1.0.0/a.bin"), pat, 201},
			{"GET", genericPath("9", "tool/1.0.0/a.bin"), pat, 200},
			{"GET", genericPath("1", "tool/1.0.0/a.bin"), []string{"PRIVATE-TOKEN", "nope"}, 401},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.opts)
			must(t, f.srv.AddProject(Project{ID: 1, Path: "acme/public", Visibility: Public}))
			must(t, f.srv.AddProject(Project{ID: 2, Path: "acme/private"}))
			f.srv.AddMember(1, "gpm", Developer)
			f.srv.AddToken(Token{Value: "tok", User: "gpm"})
			f.srv.AddToken(Token{Value: "other", User: "someone"})
			f.publish(1, "tool", "1.0.0", "a.bin", "public")
			f.publish(2, "tool", "1.0.0", "a.bin", "private")
			for _, r := range tc.reqs {
				res := f.do(r.method, r.path, nil, r.cred...)
				if res.status != r.want {
					t.Errorf("%s %s (credentials %v): %d, want %d (%s)", r.method, r.path, r.cred != nil, res.status, r.want, res.body)
				}
			}
			if tc.opts.AnonymousUser != "" {
				if p, err := f.srv.Store().Project(9); err != nil || f.srv.role(ident{kind: userIdent, user: "gpm"}, p) != Owner {
					t.Errorf("auto-created project 9: %+v %v, want the anonymous user as Owner", p, err)
				}
			}
		})
	}
}
