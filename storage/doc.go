// Package storage is the node's embedded database (bbolt): this node's
// shares, the ring records it holds for others, peers remembered from
// earlier runs and the state of unfinished downloads.
//
// Every change is a bbolt transaction, so a daemon killed with -9 restarts
// with a consistent database. Shares, peers and downloads are written
// synchronously: they change at human speed and must not be lost.
//
// Ring records (Records, which implements chordrouting.Storage) are
// different: the ring core calls Put and Delete from its event loop, many
// times per incoming store request, and must never wait for a disk sync (a
// bbolt commit costs milliseconds here). Records keeps the authoritative
// copy in memory and writes the changes behind, in one transaction per
// flush interval (and on Close); before Put or Delete returns, the change
// is appended to a journal file with one write and no fsync
// (journal.go), so a store the ring acknowledged survives kill -9 at any
// moment: the page cache outlives the process, and opening the database
// replays the journal. A power cut can still lose the last interval's
// changes; those records have R-1 other replicas and are republished by
// their publishers, so the ring repairs the gap. This is where the design
// departs from a naive "one transaction per Put".
package storage
