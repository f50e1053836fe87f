import { chatGetPermalink, chatPostEphemeral, chatPostMessage, chatUpdate } from './chat.ts';
import type { MethodSpec } from './context.ts';
import { appsConnectionsOpen, authTest, conversationsInfo, usergroupsUsersList, usersInfo } from './directory.ts';
import { viewsOpen, viewsPush, viewsUpdate } from './views.ts';

/** The Web API methods the emulator serves, with their token kind and rate-limit tier (Slack's method reference). */
export const METHODS: Record<string, MethodSpec> = {
  'auth.test': { handler: authTest, token: 'bot', tier: 'special' },
  'chat.postMessage': { handler: chatPostMessage, token: 'bot', tier: 'special' },
  'chat.update': { handler: chatUpdate, token: 'bot', tier: 3 },
  'chat.postEphemeral': { handler: chatPostEphemeral, token: 'bot', tier: 4 },
  'chat.getPermalink': { handler: chatGetPermalink, token: 'bot', tier: 'special' },
  'users.info': { handler: usersInfo, token: 'bot', tier: 4 },
  'usergroups.users.list': { handler: usergroupsUsersList, token: 'bot', tier: 2 },
  'views.open': { handler: viewsOpen, token: 'bot', tier: 4 },
  'views.update': { handler: viewsUpdate, token: 'bot', tier: 4 },
  'views.push': { handler: viewsPush, token: 'bot', tier: 4 },
  'conversations.info': { handler: conversationsInfo, token: 'bot', tier: 3 },
  'apps.connections.open': { handler: appsConnectionsOpen, token: 'app', tier: 1, headerTokenOnly: true },
};
