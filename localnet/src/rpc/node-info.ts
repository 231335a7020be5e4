// Static-ish node descriptions: status, validators, protocol and genesis config.

import { epochHeight, epochId } from "../chain/blocks.js";
import type { Chain } from "../chain/chain.js";
import {
  CHAIN_ID,
  EPOCH_LENGTH,
  GAS_PRICE,
  GENESIS_ACCOUNT,
  MAX_TOTAL_PREPAID_GAS,
  MIN_ALLOWED_TOP_LEVEL_ACCOUNT_LENGTH,
  PROTOCOL_VERSION,
  REGISTRAR_ACCOUNT,
  STORAGE_AMOUNT_PER_BYTE,
  TRANSACTION_VALIDITY_PERIOD,
} from "../chain/config.js";
import { FEES } from "../chain/fees.js";

export interface NodeIdentity {
  validatorPublicKey: string;
  rpcAddr: string;
  startedAt: number;
}

const iso = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString();

export function statusView(chain: Chain, node: NodeIdentity) {
  const latest = chain.blocks.latest;
  const genesis = chain.blocks.genesis ?? latest;
  return {
    chain_id: CHAIN_ID,
    genesis_hash: genesis.hash,
    latest_protocol_version: PROTOCOL_VERSION,
    protocol_version: PROTOCOL_VERSION,
    node_key: null,
    node_public_key: node.validatorPublicKey,
    rpc_addr: node.rpcAddr,
    sync_info: {
      latest_block_hash: latest.hash,
      latest_block_height: latest.height,
      latest_state_root: "11111111111111111111111111111111",
      latest_block_time: iso(latest.timestamp),
      syncing: false,
      earliest_block_hash: genesis.hash,
      earliest_block_height: genesis.height,
      earliest_block_time: iso(genesis.timestamp),
      epoch_id: epochId(latest.height),
      epoch_start_height: ((latest.height / EPOCH_LENGTH) * EPOCH_LENGTH).toString(),
    },
    uptime_sec: Math.floor((Date.now() - node.startedAt) / 1000),
    validator_account_id: GENESIS_ACCOUNT,
    validator_public_key: node.validatorPublicKey,
    validators: [{ account_id: GENESIS_ACCOUNT, is_slashed: false }],
    version: { version: "localnet", build: "localnet", rustc_version: "none" },
  };
}

export function validatorsView(chain: Chain, node: NodeIdentity) {
  const latest = chain.blocks.latest;
  const stake = chain.state.getAccount(GENESIS_ACCOUNT)?.locked ?? 0n;
  const validator = {
    account_id: GENESIS_ACCOUNT,
    public_key: node.validatorPublicKey,
    is_slashed: false,
    stake: stake.toString(),
    shards: [0],
    num_produced_blocks: Number(latest.height),
    num_expected_blocks: Number(latest.height),
    num_produced_chunks: Number(latest.height),
    num_expected_chunks: Number(latest.height),
  };
  return {
    current_validators: [validator],
    next_validators: [
      {
        account_id: GENESIS_ACCOUNT,
        public_key: node.validatorPublicKey,
        stake: stake.toString(),
        shards: [0],
      },
    ],
    current_fishermen: [],
    next_fishermen: [],
    current_proposals: [],
    prev_epoch_kickout: [],
    epoch_start_height: (latest.height / EPOCH_LENGTH) * EPOCH_LENGTH,
    epoch_height: epochHeight(latest.height),
  };
}

const fee = (f: { send: bigint; exec: bigint }) => ({
  send_sir: Number(f.send),
  send_not_sir: Number(f.send),
  execution: Number(f.exec),
});

export function protocolConfigView(chain: Chain) {
  const genesis = chain.blocks.genesis ?? chain.blocks.latest;
  return {
    protocol_version: PROTOCOL_VERSION,
    genesis_time: iso(genesis.timestamp),
    chain_id: CHAIN_ID,
    genesis_height: genesis.height,
    num_block_producer_seats: 1,
    num_block_producer_seats_per_shard: [1],
    avg_hidden_validator_seats_per_shard: [0],
    dynamic_resharding: false,
    protocol_upgrade_stake_threshold: [4, 5],
    epoch_length: EPOCH_LENGTH,
    gas_limit: 1_000_000_000_000_000,
    min_gas_price: GAS_PRICE.toString(),
    max_gas_price: "10000000000000000000000",
    block_producer_kickout_threshold: 90,
    chunk_producer_kickout_threshold: 90,
    online_min_threshold: [90, 100],
    online_max_threshold: [99, 100],
    gas_price_adjustment_rate: [1, 100],
    minimum_stake_ratio: [1, 6250],
    max_inflation_rate: [1, 40],
    protocol_reward_rate: [1, 10],
    protocol_treasury_account: GENESIS_ACCOUNT,
    transaction_validity_period: TRANSACTION_VALIDITY_PERIOD,
    fishermen_threshold: "10000000000000000000000000",
    minimum_validators_per_shard: 1,
    num_blocks_per_year: 31_536_000,
    shard_layout: { V0: { num_shards: 1, version: 0 } },
    runtime_config: {
      storage_amount_per_byte: STORAGE_AMOUNT_PER_BYTE.toString(),
      transaction_costs: {
        action_receipt_creation_config: fee(FEES.actionReceiptCreation),
        data_receipt_creation_config: {
          base_cost: fee(FEES.dataReceiptCreationBase),
          cost_per_byte: fee(FEES.dataReceiptCreationPerByte),
        },
        action_creation_config: {
          create_account_cost: fee(FEES.createAccount),
          deploy_contract_cost: fee(FEES.deployContractBase),
          deploy_contract_cost_per_byte: fee(FEES.deployContractPerByte),
          function_call_cost: fee(FEES.functionCallBase),
          function_call_cost_per_byte: fee(FEES.functionCallPerByte),
          transfer_cost: fee(FEES.transfer),
          stake_cost: fee(FEES.stake),
          add_key_cost: {
            full_access_cost: fee(FEES.addKeyFullAccess),
            function_call_cost: fee(FEES.addKeyFunctionCall),
            function_call_cost_per_byte: fee(FEES.addKeyPerByte),
          },
          delete_key_cost: fee(FEES.deleteKey),
          delete_account_cost: fee(FEES.deleteAccount),
          delegate_cost: fee(FEES.delegate),
        },
        storage_usage_config: { num_bytes_account: 100, num_extra_bytes_record: 40 },
        burnt_gas_reward: [3, 10],
        pessimistic_gas_price_inflation_ratio: [103, 100],
      },
      wasm_config: {
        limit_config: {
          max_total_prepaid_gas: Number(MAX_TOTAL_PREPAID_GAS),
          max_gas_burnt: Number(MAX_TOTAL_PREPAID_GAS),
          max_actions_per_receipt: 100,
          max_number_logs: 100,
          max_total_log_length: 16384,
          max_register_size: 104857600,
          max_number_registers: 100,
          max_contract_size: 4194304,
          max_transaction_size: 4194304,
          max_arguments_length: 4194304,
          max_length_returned_data: 4194304,
          max_length_storage_key: 2048,
          max_length_storage_value: 4194304,
          max_promises_per_function_call_action: 1024,
          max_number_input_data_dependencies: 128,
          max_length_method_name: 256,
          max_arguments_length_bytes: 4194304,
          account_id_validity_rules_version: 1,
        },
      },
      account_creation_config: {
        min_allowed_top_level_account_length: MIN_ALLOWED_TOP_LEVEL_ACCOUNT_LENGTH,
        registrar_account_id: REGISTRAR_ACCOUNT,
      },
    },
  };
}
