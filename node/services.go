package node

// startServices builds the adapters to the keyword index and the block
// transfer, once the host and the ring run.
func (nw *network) startServices() error {
	idx, err := newKeywordIndex(nw)
	if err != nil {
		return err
	}
	tr, err := newTransfer(nw)
	if err != nil {
		return err
	}
	nw.index, nw.files, nw.transfer = idx, tr, tr
	nw.fetch = tr
	return nil
}
