package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/rolegate/rolegate/internal/account"
	"github.com/rolegate/rolegate/internal/auth"
)

// CopyColumns are the users columns of loadtool users -copy, in order.
const CopyColumns = "id, username, username_key, username_skeleton, email, role, is_active, password_hash, date_joined"

// writeUsers writes a rolegate CSV user file: user 1 is "benchadmin"
// (admin), user 2 "benchuser" (user), then users 3..n. Every user gets the
// same argon2id hash, computed once at the production parameters, so that
// seeding a million users costs one hash.
func writeUsers(args []string) error {
	fs := flag.NewFlagSet("users", flag.ContinueOnError)
	n := fs.Int("n", 1000, "how many users")
	password := fs.String("password", "", "every user's password")
	out := fs.String("out", "users.csv", "file to write")
	copyFormat := fs.Bool("copy", false, "write PostgreSQL COPY CSV for the columns "+CopyColumns+" instead of an import file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	h, err := auth.NewHasher(auth.OWASP, 1, time.Minute)
	if err != nil {
		return err
	}
	hash, err := h.Hash(context.Background(), auth.Requester{}, *password)
	if err != nil {
		return err
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if !*copyFormat {
		fmt.Fprintln(w, "id,username,email,role,is_active,password_hash")
	}
	for i := 1; i <= *n; i++ {
		name, role := fmt.Sprintf("user%07d", i), "user"
		switch i {
		case 1:
			name, role = "benchadmin", "admin"
		case 2:
			name = "benchuser"
		}
		if i%10 == 0 {
			role = "staff"
		}
		if *copyFormat {
			fmt.Fprintf(w, "%d,%s,%s,%s,%s@example.com,%s,true,\"%s\",2026-01-01T00:00:00Z\n", i, name, account.UsernameKey(name), skeletonKey(name), name, role, hash)
		} else {
			fmt.Fprintf(w, "%d,%s,%s@example.com,%s,true,\"%s\"\n", i, name, name, role, hash)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// skeletonKey is the store's username_skeleton of name: the SHA-256 of its
// confusable skeleton, in hex.
func skeletonKey(name string) string {
	sum := sha256.Sum256([]byte(account.UsernameSkeleton(name)))
	return hex.EncodeToString(sum[:])
}
