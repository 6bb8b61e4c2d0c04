export { MigrationSender, MigrationReceiver, AckReader, ackRecord, MIGRATION_MAGIC, MIGRATION_VERSION, type Ack, type MigrationHandlers, type RoundEnd } from './stream.js'
export { ChannelError, isChannelError, channelPair, type Channel } from './channel.js'
export { sendMachine, receiveMachine, DEFAULT_INSNS_PER_ROUND, type SendOptions, type SendResult } from './live.js'
