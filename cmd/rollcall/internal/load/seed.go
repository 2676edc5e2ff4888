package load

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rollcall/rollcall/storage"
)

// Seeder writes users and memberships straight into the server's database, bypassing SCIM:
// a million SCIM POSTs would take longer than the benchmark they prepare. The records it
// writes are those the SCIM endpoint would have made of the same requests.
type Seeder interface {
	// Scope is the tenant and connection of the token under test: seeded records belong to
	// it, so they are visible over SCIM.
	Scope() storage.Scope
	LoadUsers(ctx context.Context, users []storage.User) error
	AddMembers(ctx context.Context, groupID string, ids []string) error
	// Settle brings planner statistics and visibility up to date after a load, as autovacuum
	// would do some time later, and writes the load's pages out, so that no checkpoint the
	// load set off runs during the next measurement.
	Settle(ctx context.Context) error
}

// seedChunk is how many users one LoadUsers call carries.
const seedChunk = 20_000

// seedName is the userName of the i-th seeded user of a run.
func seedName(prefix string, i int) string {
	return prefix + "-" + fmt.Sprintf("%07d", i) + "@example.com"
}

// userDoc is a user as Okta pushes it, with its keys in the order encoding/json writes a
// map's (sorted), so that a seeded document is byte for byte what the server stores for the
// same POST.
type userDoc struct {
	Schemas     []string    `json:"schemas,omitempty"`
	Active      bool        `json:"active"`
	DisplayName string      `json:"displayName"`
	Emails      []emailBody `json:"emails"`
	Locale      string      `json:"locale"`
	Name        nameBody    `json:"name"`
	UserName    string      `json:"userName"`
}

type emailBody struct {
	Primary bool   `json:"primary"`
	Type    string `json:"type"`
	Value   string `json:"value"`
}

type nameBody struct {
	FamilyName string `json:"familyName"`
	GivenName  string `json:"givenName"`
}

// seedDoc is the document of a user: the POST body without schemas.
func seedDoc(userName string, i int) userDoc {
	family := "User" + strconv.Itoa(i)
	return userDoc{Active: true, DisplayName: "Load " + family, Locale: "en-US", UserName: userName,
		Emails: []emailBody{{Primary: true, Type: "work", Value: userName}},
		Name:   nameBody{FamilyName: family, GivenName: "Load"}}
}

// oktaCreate is the body of Okta's POST /Users.
func oktaCreate(userName string, i int) userDoc {
	d := seedDoc(userName, i)
	d.Schemas = []string{userURN}
	return d
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only ever called on the plain structs above
	}
	return b
}

func newID() string { return storage.NewID() }

// seedUser is the record the SCIM endpoint stores for oktaCreate(userName, i).
func seedUser(scope storage.Scope, userName string, i int, now time.Time) storage.User {
	d := seedDoc(userName, i)
	primary := true
	return storage.User{
		ID: newID(), TenantID: scope.TenantID, ConnectionID: scope.ConnectionID, Kind: storage.UserHuman,
		Auth: storage.AuthSSO, UserName: userName, Active: true, Email: userName, Doc: mustJSON(d),
		Profile: storage.Profile{DisplayName: d.DisplayName, Locale: d.Locale, FamilyName: d.Name.FamilyName, GivenName: d.Name.GivenName},
		Values:  []storage.Value{{Attr: string(storage.SetEmails), Value: userName, Type: "work", Primary: &primary}},
		Version: 1, CreatedAt: now, UpdatedAt: now,
	}
}

// seedUsers makes users [len(r.ids), n) of the run exist: in bulk through the seeder, else with
// SCIM POSTs. It reports how long that took.
func (r *run) seedUsers(ctx context.Context, n int) error {
	from := len(r.ids)
	if from >= n {
		return nil
	}
	start := time.Now()
	r.ids = append(r.ids, make([]string, n-from)...)
	how := "SCIM POST"
	var err error
	if r.seeder != nil {
		how = "COPY"
		err = r.seedBulk(ctx, from, n)
	} else {
		err = r.seedHTTP(ctx, from, n)
	}
	if err != nil {
		r.ids = r.ids[:from]
		return fmt.Errorf("seed users: %w", err)
	}
	load := time.Since(start)
	settle := time.Duration(0)
	if r.seeder != nil {
		s := time.Now()
		if err := r.seeder.Settle(ctx); err != nil {
			return fmt.Errorf("seed users: %w", err)
		}
		settle = time.Since(s)
	}
	res := Result{Name: fmt.Sprintf("seed users %d→%d (%s)", from, n, how), Concurrency: 1, Ops: n - from,
		Seconds: load.Seconds(), Rate: float64(n-from) / load.Seconds(), Users: n}
	if r.seeder != nil {
		res.Note = fmt.Sprintf("then VACUUM ANALYZE and CHECKPOINT %.1f s", settle.Seconds())
	}
	r.seeds = append(r.seeds, res)
	fmt.Fprintf(r.stdout, "%-56s %8d users in %6.1f s  %9.0f users/s", res.Name, res.Ops, res.Seconds, res.Rate)
	if res.Note != "" {
		fmt.Fprintf(r.stdout, "  [%s]", res.Note)
	}
	fmt.Fprintln(r.stdout)
	return nil
}

func (r *run) seedBulk(ctx context.Context, from, n int) error {
	scope := r.seeder.Scope()
	now := time.Now().UTC().Truncate(time.Microsecond)
	batch := make([]storage.User, 0, seedChunk)
	last := time.Now()
	for i := from; i < n; i++ {
		u := seedUser(scope, seedName(r.cfg.Prefix, i), i, now)
		r.ids[i] = u.ID
		batch = append(batch, u)
		if len(batch) == seedChunk || i == n-1 {
			if err := r.seeder.LoadUsers(ctx, batch); err != nil {
				return err
			}
			batch = batch[:0]
			if time.Since(last) > 5*time.Second {
				r.logf("seeding: %d/%d users", i+1, n)
				last = time.Now()
			}
		}
	}
	return nil
}

func (r *run) seedHTTP(ctx context.Context, from, n int) error {
	var next atomic.Int64
	next.Store(int64(from))
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range r.cfg.Concurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				var out struct {
					ID string `json:"id"`
				}
				if err := r.c.do(ctx, http.MethodPost, "/Users", oktaCreate(seedName(r.cfg.Prefix, i), i), http.StatusCreated, &out); err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
				r.ids[i] = out.ID
				if (i+1)%10_000 == 0 {
					r.logf("seeding: %d/%d users", i+1, n)
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// makeGroup creates a group over SCIM and gives it members: in bulk through the seeder, else
// with PATCHes of a thousand members each.
func (r *run) makeGroup(ctx context.Context, name string, members []string) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	body := map[string]any{"schemas": []string{groupURN}, "displayName": name}
	if err := r.c.do(ctx, http.MethodPost, "/Groups", body, http.StatusCreated, &out); err != nil {
		return "", fmt.Errorf("create group: %w", err)
	}
	start := time.Now()
	if r.seeder != nil {
		if err := r.seeder.AddMembers(ctx, out.ID, members); err != nil {
			return "", fmt.Errorf("seed members: %w", err)
		}
		// Planner statistics that still describe an empty membership table would make the
		// server's membership queries pick plans no long-lived database would.
		if err := r.seeder.Settle(ctx); err != nil {
			return "", fmt.Errorf("seed members: %w", err)
		}
	} else {
		for len(members) > 0 {
			k := min(len(members), 1000)
			p := patch(patchOp{Op: "add", Path: "members", Value: memberValues(members[:k])})
			if err := r.c.do(ctx, http.MethodPatch, "/Groups/"+out.ID, p, http.StatusNoContent, nil); err != nil {
				return "", fmt.Errorf("add members: %w", err)
			}
			members = members[k:]
		}
	}
	r.logf("group %q: members added in %.1f s", name, time.Since(start).Seconds())
	return out.ID, nil
}
