// Gas (see localnet/README.md "Gas"). Host-function and WASM costs are nearcore's runtime parameters
// (parameters.yaml as of protocol 73); the JS bundle path approximates the QuickJS interpreter's own
// work per interrupt-handler tick, the WASM path counts instructions (wasm/instrument.ts).
import { HostError } from "./errors.js";

export const TGAS = 1_000_000_000_000n;
/** nearcore's max_gas_burnt: no single call may burn more, whatever its prepaid gas. */
export const MAX_GAS_BURNT = 300n * TGAS;

/** Loading QuickJS plus the contract's bytecode: fixed part and per byte of JS source. */
export const LOAD_BASE = 1_500_000_000_000n;
export const LOAD_PER_CODE_BYTE = 20_000_000n;
/**
 * QuickJS polls its interrupt handler about every 10,000 function calls or loop iterations; on chain
 * that much interpretation inside WASM costs roughly this much.
 */
export const GAS_PER_INTERRUPT_TICK = 400_000_000_000n;

// nearcore wasm_* costs (runtime parameters, protocol 7x).
export const COST = {
  regular_op: 822_756n,
  contract_loading_base: 35_445_963n,
  contract_loading_bytes: 216_750n,
  base: 264_768_111n,
  read_register_base: 2_517_165_186n,
  read_register_byte: 98_562n,
  write_register_base: 2_865_522_486n,
  write_register_byte: 3_801_564n,
  read_memory_base: 2_609_863_200n,
  read_memory_byte: 3_801_333n,
  write_memory_base: 2_803_794_861n,
  write_memory_byte: 2_723_772n,
  utf8_decoding_base: 3_111_779_061n,
  utf8_decoding_byte: 291_580_479n,
  utf16_decoding_base: 3_543_313_050n,
  utf16_decoding_byte: 163_577_493n,
  log_base: 3_543_313_050n,
  log_byte: 13_198_791n,
  storage_write_base: 64_196_736_000n,
  storage_write_key_byte: 70_482_867n,
  storage_write_value_byte: 31_018_539n,
  storage_write_evicted_byte: 32_117_307n,
  storage_read_base: 56_356_845_750n,
  storage_read_key_byte: 30_952_533n,
  storage_read_value_byte: 5_611_005n,
  storage_remove_base: 53_473_030_500n,
  storage_remove_key_byte: 38_220_384n,
  storage_remove_ret_value_byte: 11_531_556n,
  storage_has_key_base: 54_039_896_625n,
  storage_has_key_byte: 30_790_845n,
  sha256_base: 4_540_970_250n,
  sha256_byte: 24_117_351n,
  keccak256_base: 5_879_491_275n,
  keccak256_byte: 21_471_105n,
  keccak512_base: 5_811_388_236n,
  keccak512_byte: 36_649_701n,
  ripemd160_base: 853_675_086n,
  ripemd160_block: 680_107_584n,
  ecrecover_base: 278_821_988_457n,
  ed25519_verify_base: 210_000_000_000n,
  ed25519_verify_byte: 9_000_000n,
  promise_and_base: 1_465_013_400n,
  promise_and_per_promise: 5_452_176n,
  promise_return: 560_152_386n,
  validator_stake_base: 911_834_726_400n,
  alt_bn128_g1_multiexp_base: 713_000_000_000n,
  alt_bn128_g1_multiexp_element: 320_000_000_000n,
  alt_bn128_g1_sum_base: 3_000_000_000n,
  alt_bn128_g1_sum_element: 5_000_000_000n,
  alt_bn128_pairing_check_base: 9_686_000_000_000n,
  alt_bn128_pairing_check_element: 5_102_000_000_000n,
  // Action fees charged to the contract when it creates receipts (send_not_sir + exec).
  action_receipt_creation: 216_119_000_000n,
  data_receipt_creation_base: 72_973_464_624n,
  function_call_base: 4_639_723_000_000n,
  function_call_byte: 4_471_868n,
  transfer: 230_246_125_000n,
  create_account: 7_700_000_000_000n,
  deploy_contract_base: 368_485_000_000n,
  deploy_contract_byte: 12_886_000n,
  add_key: 203_000_000_000n,
  delete_key: 188_000_000_000n,
  delete_account: 295_000_000_000n,
  stake: 282_000_000_000n,
} as const;

/** Tracks burnt gas (work done here) and used gas (burnt plus gas prepaid to created receipts). */
export class GasCounter {
  burnt = 0n;
  used = 0n;
  private readonly burnLimit: bigint;

  constructor(readonly prepaid: bigint) {
    this.burnLimit = prepaid < MAX_GAS_BURNT ? prepaid : MAX_GAS_BURNT;
  }

  burn(amount: bigint): void {
    const burnt = this.burnt + amount;
    const used = this.used + amount;
    if (burnt > this.burnLimit || used > this.prepaid) {
      this.exhaust();
      throw new HostError(
        burnt > this.burnLimit && this.burnLimit < this.prepaid ? "GasLimitExceeded" : "GasExceeded",
      );
    }
    this.burnt = burnt;
    this.used = used;
  }

  /** Gas handed to a created function call: used but not burnt here. */
  prepay(amount: bigint): void {
    const used = this.used + amount;
    if (used > this.prepaid) {
      this.exhaust();
      throw new HostError("GasExceeded");
    }
    this.used = used;
  }

  remaining(): bigint {
    return this.prepaid - this.used;
  }

  /** What can still be burnt before either limit is passed. */
  burnable(): bigint {
    const byLimit = this.burnLimit - this.burnt;
    const byPrepaid = this.prepaid - this.used;
    // biome-ignore lint/complexity/useMathMinMax: Math.min does not take BigInts
    return byLimit < byPrepaid ? byLimit : byPrepaid;
  }

  /** nearcore burns everything that was available when gas runs out. */
  private exhaust(): void {
    this.burnt = this.burnLimit;
    this.used = this.burnLimit;
  }
}
