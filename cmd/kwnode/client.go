package main

import (
	"errors"
	"fmt"

	"kwsearch/api"
	"kwsearch/repo"
)

// repoPath is the repository folder: --repo, else $KWNODE_REPO, else ~/.kwnode.
func (e *env) repoPath() (string, error) {
	if e.repo != "" {
		return e.repo, nil
	}
	return repo.DefaultPath(e.getenv)
}

// client returns a client of the daemon running on this repository.
func (e *env) client() (*api.Client, error) {
	path, err := e.repoPath()
	if err != nil {
		return nil, err
	}
	if !repo.Exists(path) {
		return nil, fmt.Errorf("%w: no repository at %s", repo.ErrNoDaemon, path)
	}
	return api.FromRepo(path)
}

// explain rewrites errors into the one line the user sees.
func (e *env) explain(err error) error {
	if errors.Is(err, repo.ErrNoDaemon) {
		path, _ := e.repoPath()
		return fmt.Errorf("no daemon is running for repository %s (start one with `kwnode daemon`)", path)
	}
	var ae *api.Error
	if errors.As(err, &ae) {
		return errors.New(ae.Message)
	}
	return err
}
