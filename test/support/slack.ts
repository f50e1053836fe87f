import { startSlackEmulator, type SlackEmulator } from '../../src/slack-emulator';
import { ALICE, AUTOMATION_OPS_CHANNEL, BOB, BOT_TOKEN, MALLORY, SIGNING_SECRET, startHarness, type Harness } from './harness';

export type SlackHarness = Harness & { slack: SlackEmulator };

/** A whole Countersign wired to the repo's Slack emulator in HTTP mode. */
export async function startSlackHarness(opts: Parameters<typeof startHarness>[0] = {}): Promise<SlackHarness> {
  const slack = await startSlackEmulator({
    botToken: BOT_TOKEN,
    signingSecret: SIGNING_SECRET,
    channels: [{ id: AUTOMATION_OPS_CHANNEL, name: 'automation-ops' }],
    users: [
      { id: ALICE, name: 'alice' },
      { id: BOB, name: 'bob' },
      { id: MALLORY, name: 'mallory' },
    ],
  });
  const h = await startHarness({ ...opts, slackApiUrl: slack.apiUrl });
  slack.setEventsUrl(`${h.app.url}/slack/events`);
  return {
    ...h,
    slack,
    async close() {
      await h.close();
      await slack.close();
    },
  };
}
