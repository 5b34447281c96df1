package github

// DeepenFix is the workflow's own way to fetch the history, for a note
// when the clone cannot be deepened. (The credentials to deepen with are
// the checkout's own: repo.Deepen reads the http.<url>.extraheader that
// actions/checkout persists, which needs no variable.)
const DeepenFix = "`fetch-depth: 0` on actions/checkout"
