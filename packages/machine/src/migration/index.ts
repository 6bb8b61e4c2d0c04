export { MigrationSender, MigrationReceiver, AckReader, ReplyReader, ackRecord, requestRecord, MIGRATION_MAGIC, MIGRATION_VERSION, type Ack, type Reply, type PendingRuns, type MigrationHandlers, type RoundEnd } from './stream.js'
export { ChannelError, isChannelError, channelPair, type Channel } from './channel.js'
export { sendMachine, receiveMachine, receiveMigration, DEFAULT_INSNS_PER_ROUND, type SendOptions, type SendResult, type MigrationFigures, type IncomingGuest, type ReceiveOptions } from './live.js'
