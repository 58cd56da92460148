{#-
    numerator / denominator rounded half away from zero to `digits` decimals, computed
    exactly: both sides are decimals with at most two places, scaled to integers (cents)
    and divided in integer arithmetic, so no binary floating point is involved.
    NULL when the denominator is 0 or NULL.
-#}
{% macro round_half_away_ratio(numerator, denominator, digits) -%}
    case
        when {{ denominator }} is null or {{ numerator }} is null or {{ denominator }} = 0 then null
        else
            {{ exact_sign(numerator) }} * {{ exact_sign(denominator) }}
            * (
                {{ integer_quotient(
                    '(abs(' ~ exact_integer('(' ~ numerator ~ ') * 100') ~ ') * ' ~ 10 ** digits ~ ' * 2
                    + abs(' ~ exact_integer('(' ~ denominator ~ ') * 100') ~ '))',
                    '(2 * abs(' ~ exact_integer('(' ~ denominator ~ ') * 100') ~ '))',
                ) }}
            )
            * {{ "1" if digits == 0 else "0." ~ "0" * (digits - 1) ~ "1" }}
    end
{%- endmacro %}
