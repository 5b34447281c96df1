package render

import "strings"

// slackLookalikes replace the characters Slack's mrkdwn formats with
// (and has no escape for) by characters that look alike and format
// nothing: *bold*, _italic_, ~strike~, `code`.
var slackLookalikes = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;", // <!channel>, <@U123>, <url|label>
	"*", "\u2217", "_", "\u02cd", "~", "\u223c", "`", "\u02cb",
	"@", "@"+zwsp, // @here, @channel, when a webhook links names
)

// Slack renders untrusted text for Slack's mrkdwn on one line: no
// special mention (<!channel>), no link or user reference, no bold,
// italic, strike or code (Slack has no escape for *_~` : they become
// lookalikes, ∗ ˍ ∼ ˋ), no autolink.
func Slack(s string) string {
	return noCommand(breakAutolinks(slackLookalikes.Replace(Visible(s))), zwsp)
}
