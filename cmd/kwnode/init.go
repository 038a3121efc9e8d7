package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"kwsearch/repo"
)

func newInitCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "init",
		Short: "Create the repository: identity key, config file, API token",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := e.repoPath()
			if err != nil {
				return err
			}
			r, err := repo.Init(path, repo.DefaultConfig(), nil)
			if errors.Is(err, repo.ErrExists) {
				return fmt.Errorf("init: a repository already exists at %s", path)
			}
			if err != nil {
				return fmt.Errorf("init: %w", err)
			}
			fmt.Fprintf(e.stdout, "initialized repository %s\npeer id %s\n", r.Path, r.ID)
			return nil
		},
	}
}

// openOrInit opens the repository at path, creating it first if missing.
func openOrInit(path string) (*repo.Repo, bool, error) {
	if repo.Exists(path) {
		r, err := repo.Open(path)
		return r, false, err
	}
	r, err := repo.Init(path, repo.DefaultConfig(), nil)
	if errors.Is(err, repo.ErrExists) { // a concurrent init won the race
		r, err = repo.Open(path)
	}
	return r, true, err
}
