export * from './constants.js'
